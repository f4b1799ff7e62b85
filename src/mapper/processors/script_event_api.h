#pragma once
// The JavaScript side of the script processor, evaluated in every worker before the user's code:
// the Event object with Beats' API (Get, Put, Rename, Delete, Cancel, Tag, AppendTo, `fields`;
// libbeat/processors/script/javascript/beatevent_v0.go) and the functions the worker calls.
// Field keys are looked up as Beats' mapstr does: the whole remaining key first, then the part
// before the first dot.

namespace fim::mapper::processors {

inline constexpr const char* kScriptEventApi = R"js(
(function (global) {
  "use strict";
  var has = Object.prototype.hasOwnProperty;
  function isMap(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }
  function typeName(v) {
    if (v === null || v === undefined) return "<nil>";
    if (Array.isArray(v)) return "[]interface {}";
    if (typeof v === "object") return "mapstr.M";
    if (typeof v === "number") return "float64";
    if (typeof v === "boolean") return "bool";
    return typeof v;
  }
  // {map, key} holding `key`; null when absent (create: false). With create, missing objects on
  // the way are created and a value that is not an object on the way throws.
  function locate(data, key, create) {
    for (;;) {
      if (has.call(data, key)) return { map: data, key: key };
      var dot = key.indexOf(".");
      if (dot < 0) return create ? { map: data, key: key } : null;
      var head = key.substring(0, dot);
      if (!has.call(data, head)) {
        if (!create) return null;
        data[head] = {};
      } else if (!isMap(data[head])) {
        if (create) throw new Error("expected map but type is " + typeName(data[head]));
        return null;
      }
      data = data[head];
      key = key.substring(dot + 1);
    }
  }
  function getValue(fields, key) {
    var at = locate(fields, key, false);
    return at === null ? undefined : at.map[at.key];
  }
  function putValue(fields, key, value) {
    var at = locate(fields, key, true);
    var old = has.call(at.map, at.key) ? at.map[at.key] : null;
    at.map[at.key] = value;
    return old === undefined ? null : old;
  }
  function deleteValue(fields, key) {
    var at = locate(fields, key, false);
    if (at === null) return false;
    delete at.map[at.key];
    return true;
  }
  function appendString(fields, field, value, alwaysArray) {
    var list = getValue(fields, field);
    if (list === undefined || list === null) {
      putValue(fields, field, alwaysArray ? [value] : value);
    } else if (typeof list === "string") {
      if (list !== value) putValue(fields, field, [list, value]);
    } else if (Array.isArray(list)) {
      for (var i = 0; i < list.length; i++) if (list[i] === value) return;
      list.push(value);
    } else {
      throw new Error("unexpected type " + typeName(list) + " found for " + field + " field");
    }
  }

  function Event(fields) {
    if (!isMap(fields)) throw new Error("Event constructor requires a map[string]interface{} argument");
    this.fields = fields;
    this._cancelled = false;
  }
  Event.prototype.Get = function (key) {
    if (key === undefined) return this.fields;
    var v = getValue(this.fields, String(key));
    return v === undefined ? null : v;
  };
  Event.prototype.Put = function (key, value) {
    if (arguments.length !== 2) throw new Error("Put requires two arguments (key and value)");
    return putValue(this.fields, String(key), value);
  };
  Event.prototype.Rename = function (from, to) {
    if (arguments.length !== 2) throw new Error("Rename requires two arguments (from and to)");
    from = String(from);
    to = String(to);
    if (getValue(this.fields, to) !== undefined) return false;
    var value = getValue(this.fields, from);
    if (value === undefined || !deleteValue(this.fields, from)) return false;
    try {
      putValue(this.fields, to, value);
    } catch (e) {
      putValue(this.fields, from, value);
      return false;
    }
    return true;
  };
  Event.prototype.Delete = function (key) {
    if (arguments.length !== 1) throw new Error("Delete requires one argument");
    return deleteValue(this.fields, String(key));
  };
  Event.prototype.Cancel = function () { this._cancelled = true; };
  Event.prototype.Tag = function (tag) {
    if (arguments.length !== 1) throw new Error("Tag requires one argument");
    appendString(this.fields, "tags", String(tag), true);
  };
  Event.prototype.AppendTo = function (field, value) {
    if (arguments.length !== 2) throw new Error("AppendTo requires two arguments (field and value)");
    appendString(this.fields, String(field), String(value), false);
  };
  Object.defineProperty(global, "Event", { value: Event, writable: false, enumerable: false });

  var parts = [];  // [{name, first, lines}]: where each line of the code came from
  var processFunc = null;
  function where(line) {
    for (var i = 0; i < parts.length; i++) {
      var p = parts[i];
      if (line >= p.first && line < p.first + p.lines) return p.name + ":" + (line - p.first + 1);
    }
    return "line " + line;
  }
  // "TypeError: x is undefined (filter.js:12)": the message and the first frame in the user's code.
  function describe(e) {
    var text = String(e);
    var stack = e && typeof e.stack === "string" ? e.stack : "";
    var m = /\(fimbeat-script:(\d+)\)/.exec(stack);
    if (m) return text + " (" + where(Number(m[1])) + ")";
    if (e && e.fileName === "fimbeat-script" && typeof e.lineNumber === "number") return text + " (" + where(e.lineNumber) + ")";
    return text;
  }

  var api = {
    // Where each line of the code came from, before the code is compiled.
    init: function (partsJson) { parts = JSON.parse(partsJson); },
    // "SyntaxError: parse error (filter.js:3, end of input)": the error with its place.
    describe: function (e) {
      var text = describe(e);
      return text.replace(/\(line (\d+)/, function (all, n) { return "(" + where(Number(n)); });
    },
    // After the user's code ran: checks process(), passes params to register(), runs test().
    setup: function (paramsJson, runTest) {
      var p = global.process;
      if (p === undefined) return "process function not found";
      if (typeof p !== "function") return "process is not a function";
      processFunc = p;
      var params = JSON.parse(paramsJson);
      if (params !== null) {
        var r = global.register;
        if (r === undefined) return "params were provided but no register function was found";
        if (typeof r !== "function") return "register is not a function";
        try { r(params); } catch (e) { return "failed to register script_params: " + describe(e); }
      }
      if (runTest && global.test !== undefined) {
        if (typeof global.test !== "function") return "test is not a function";
        try { global.test(); } catch (e) { return "failed in test() function: " + describe(e); }
      }
      return "";
    },
    // One event: {c: cancelled, f: the fields as the script left them, e: the exception, if any}.
    // Text beyond U+FFFF comes out as surrogate pairs in CESU-8, which fimbeat joins again.
    process: function (json) {
      var fields = JSON.parse(json);
      var evt = new Event(fields);
      try {
        processFunc(evt);
      } catch (e) {
        return JSON.stringify({ c: false, f: fields, e: describe(e) });
      }
      return JSON.stringify({ c: evt._cancelled, f: fields });
    }
  };
  Object.defineProperty(global, "__fimbeat", { value: api, writable: false, enumerable: false });
})(this);
)js";

}  // namespace fim::mapper::processors
