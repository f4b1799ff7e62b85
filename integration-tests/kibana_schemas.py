"""The shapes Kibana accepts for the saved object types fimbeat ships, for kibana_endpoint.py.

They follow elastic/kibana's schemas of the 8.11 line: the content management v1 schemas of
dashboard (src/plugins/dashboard/common/content_management/v1/cm_services.ts), lens
(x-pack/plugins/lens/common/content_management/v1/cm_services.ts) and index-pattern
(src/plugins/data_views/common/content_management/v1/cm_services.ts), and the ``8.8.0`` schema of
search (src/plugins/saved_search/server/saved_objects/search.ts), all with unknown attributes
forbidden; plus what those attributes must hold to render: the attributes Kibana stores as JSON
strings parse, each dashboard panel has its grid and a reference for its ``panelRefName``, each
control and each Lens layer has its data view reference, each search has the reference its
``indexRefName`` names.
"""

from __future__ import annotations

import json
from typing import Any, Callable

TOP_LEVEL_KEYS = {"id", "type", "attributes", "references", "migrationVersion", "coreMigrationVersion",
                  "typeMigrationVersion", "updated_at", "created_at", "version", "namespaces", "originId", "managed"}


class ShapeError(Exception):
    """An object its type's schema rejects: `[attributes.x]: reason`, as @kbn/config-schema says."""


# --------------------------------------------------------------------------- schemas


def _check(condition: bool, where: str, reason: str) -> None:
    if not condition:
        raise ShapeError(f"[{where}]: {reason}")


def _fields(attributes: dict, allowed: dict[str, Callable[[Any], bool]], required: set[str], where: str) -> None:
    _check(isinstance(attributes, dict), where, "expected an object")
    for key, value in attributes.items():
        _check(key in allowed, f"{where}.{key}", "definition for this key is missing")
        _check(allowed[key](value), f"{where}.{key}", f"invalid value {json.dumps(value)[:80]}")
    for key in required:
        _check(key in attributes, f"{where}.{key}", "expected value of type [string] but got [undefined]")


def _string(v: Any) -> bool:
    return isinstance(v, str)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _bool(v: Any) -> bool:
    return isinstance(v, bool)


def _json_string(text: Any, where: str, kind: type) -> Any:
    _check(isinstance(text, str), where, "Kibana stores this attribute as a JSON string")
    try:
        value = json.loads(text)
    except ValueError as e:
        raise ShapeError(f"[{where}]: not valid JSON: {e}") from None
    _check(isinstance(value, kind), where, f"expected JSON of a {kind.__name__}")
    return value


def _ref_names(obj: dict) -> set[str]:
    return {r.get("name") for r in obj.get("references", [])}


def validate_dashboard(obj: dict) -> None:
    a = obj["attributes"]
    _fields(a, {"title": _string, "description": _string, "kibanaSavedObjectMeta": lambda v: isinstance(v, dict),
                "timeRestore": _bool, "timeFrom": _string, "timeTo": _string, "refreshInterval": lambda v: isinstance(v, dict),
                "controlGroupInput": lambda v: isinstance(v, dict), "panelsJSON": _string, "optionsJSON": _string,
                "hits": _number, "version": _number}, {"title", "kibanaSavedObjectMeta"}, "attributes")
    _fields(a["kibanaSavedObjectMeta"], {"searchSourceJSON": _string}, set(), "attributes.kibanaSavedObjectMeta")
    if "searchSourceJSON" in a["kibanaSavedObjectMeta"]:
        _json_string(a["kibanaSavedObjectMeta"]["searchSourceJSON"], "attributes.kibanaSavedObjectMeta.searchSourceJSON", dict)
    if "refreshInterval" in a:
        _fields(a["refreshInterval"], {"pause": _bool, "value": _number, "display": _string, "section": _number},
                {"pause", "value"}, "attributes.refreshInterval")
    _json_string(a.get("optionsJSON", "{}"), "attributes.optionsJSON", dict)
    names = _ref_names(obj)
    for i, panel in enumerate(_json_string(a.get("panelsJSON", "[]"), "attributes.panelsJSON", list)):
        where = f"attributes.panelsJSON[{i}]"
        _check(isinstance(panel, dict) and _string(panel.get("panelIndex")) and _string(panel.get("type")), where,
               "a panel needs panelIndex and type")
        grid = panel.get("gridData", {})
        _check(all(_number(grid.get(k)) for k in "xywh") and grid.get("i") == panel["panelIndex"], where + ".gridData",
               "needs x, y, w, h and i equal to panelIndex")
        _check(isinstance(panel.get("embeddableConfig"), dict), where + ".embeddableConfig", "expected an object")
        if "panelRefName" in panel:
            _check(f"{panel['panelIndex']}:{panel['panelRefName']}" in names or panel["panelRefName"] in names,
                   where + ".panelRefName", f"no reference named {panel['panelIndex']}:{panel['panelRefName']}")
        else:
            _check("savedVis" in panel["embeddableConfig"] or "attributes" in panel["embeddableConfig"], where,
                   "a panel is by reference (panelRefName) or by value (embeddableConfig.savedVis/attributes)")
    if "controlGroupInput" in a:
        _validate_controls(a["controlGroupInput"], names)


def _validate_controls(group: dict, names: set[str]) -> None:
    where = "attributes.controlGroupInput"
    _fields(group, {"panelsJSON": _string, "controlStyle": _string, "chainingSystem": _string,
                    "ignoreParentSettingsJSON": _string}, set(), where)
    _json_string(group.get("ignoreParentSettingsJSON", "{}"), where + ".ignoreParentSettingsJSON", dict)
    for cid, control in _json_string(group.get("panelsJSON", "{}"), where + ".panelsJSON", dict).items():
        _check(isinstance(control, dict) and _string(control.get("type")) and _number(control.get("order")) and
               isinstance(control.get("explicitInput"), dict), f"{where}.panelsJSON.{cid}",
               "a control needs type, order and explicitInput")
        if control["type"] == "optionsListControl":
            _check(_string(control["explicitInput"].get("fieldName")), f"{where}.panelsJSON.{cid}.explicitInput",
                   "an options list needs fieldName")
            _check(f"controlGroup_{cid}:optionsListDataView" in names, f"{where}.panelsJSON.{cid}",
                   "no data view reference controlGroup_<id>:optionsListDataView")


def validate_search(obj: dict) -> None:
    a = obj["attributes"]
    pair = lambda v: isinstance(v, list) and len(v) == 2 and all(map(_string, v))
    _fields(a, {"title": _string, "description": _string, "columns": lambda v: isinstance(v, list) and all(map(_string, v)),
                "sort": lambda v: isinstance(v, list) and (all(map(pair, v)) or pair(v)),
                "grid": lambda v: isinstance(v, dict), "rowHeight": _number, "rowsPerPage": _number, "hideChart": _bool,
                "breakdownField": _string, "kibanaSavedObjectMeta": lambda v: isinstance(v, dict),
                "isTextBasedQuery": _bool, "usesAdHocDataView": _bool, "timeRestore": _bool,
                "timeRange": lambda v: isinstance(v, dict) and set(v) == {"from", "to"},
                "refreshInterval": lambda v: isinstance(v, dict) and set(v) == {"pause", "value"},
                "viewMode": lambda v: v in ("documents", "aggregated"), "hideAggregatedPreview": _bool,
                "hits": _number, "version": _number}, {"title", "kibanaSavedObjectMeta"}, "attributes")
    _fields(a["kibanaSavedObjectMeta"], {"searchSourceJSON": _string}, {"searchSourceJSON"}, "attributes.kibanaSavedObjectMeta")
    source = _json_string(a["kibanaSavedObjectMeta"]["searchSourceJSON"], "attributes.kibanaSavedObjectMeta.searchSourceJSON", dict)
    if "indexRefName" in source:
        _check(source["indexRefName"] in _ref_names(obj), "attributes.kibanaSavedObjectMeta.searchSourceJSON.indexRefName",
               f"no reference named {source['indexRefName']}")


def validate_lens(obj: dict) -> None:
    a = obj["attributes"]
    _fields(a, {"title": _string, "description": _string, "visualizationType": _string, "state": lambda v: True,
                "uiStateJSON": _string, "visState": _string, "savedSearchRefName": _string}, {"title"}, "attributes")
    state = a.get("state", {})
    _check(isinstance(state, dict) and isinstance(state.get("visualization"), dict) and
           isinstance(state.get("datasourceStates"), dict), "attributes.state",
           "Lens stores its state as an object with datasourceStates and visualization")
    _check(isinstance(state.get("query"), dict) and isinstance(state.get("filters"), list), "attributes.state",
           "needs query and filters")
    names = _ref_names(obj)
    for layer_id, layer in state["datasourceStates"].get("formBased", {}).get("layers", {}).items():
        where = f"attributes.state.datasourceStates.formBased.layers.{layer_id}"
        _check(f"indexpattern-datasource-layer-{layer_id}" in names, where, "no data view reference for the layer")
        columns = layer.get("columns", {})
        _check(sorted(layer.get("columnOrder", [])) == sorted(columns), where, "columnOrder must list every column")
        for cid, column in columns.items():
            _check(_string(column.get("operationType")) and _string(column.get("sourceField")) and
                   _bool(column.get("isBucketed")), f"{where}.columns.{cid}", "needs operationType, sourceField, isBucketed")


def validate_index_pattern(obj: dict) -> None:
    a = obj["attributes"]
    _fields(a, {"title": _string, "name": _string, "timeFieldName": _string, "fields": _string, "fieldAttrs": _string,
                "sourceFilters": _string, "fieldFormatMap": _string, "type": _string, "typeMeta": _string,
                "allowNoIndex": _bool, "runtimeFieldMap": _string}, {"title", "name"}, "attributes")
    for key in ("fields", "fieldAttrs", "sourceFilters", "fieldFormatMap", "typeMeta", "runtimeFieldMap"):
        if key in a:
            _json_string(a[key], f"attributes.{key}", (list if key in ("fields", "sourceFilters") else dict))


VALIDATORS = {"dashboard": validate_dashboard, "search": validate_search, "lens": validate_lens,
              "index-pattern": validate_index_pattern}
# Importable types without a shape check here (fimbeat ships none of them).
UNCHECKED_TYPES = {"visualization", "map", "tag", "query"}


def validate_object(obj: Any) -> None:
    """Raises ShapeError when obj is not a saved object its type's schema accepts."""
    _check(isinstance(obj, dict), "object", "expected a JSON object per line")
    for key in obj:
        _check(key in TOP_LEVEL_KEYS, key, "definition for this key is missing")
    _check(_string(obj.get("id")) and obj["id"] != "", "id", "expected a non-empty string")
    _check(isinstance(obj.get("attributes"), dict), "attributes", "expected an object")
    refs = obj.get("references", [])
    _check(isinstance(refs, list), "references", "expected an array")
    for i, ref in enumerate(refs):
        _check(isinstance(ref, dict) and set(ref) == {"name", "type", "id"} and all(map(_string, ref.values())),
               f"references.{i}", "a reference is {name, type, id}, all strings")
    if obj["type"] in VALIDATORS:
        VALIDATORS[obj["type"]](obj)
