# The installed layout and the Debian package that `make package` (cpack -G DEB) builds:
#   /usr/lib/fimbeat/fimbeat (the binary), /usr/bin/fimbeat (it, with the package's --path flags),
#   /etc/fimbeat/fimbeat.yml (0600, a conffile), /var/lib/fimbeat (0700),
#   /var/log/fimbeat (0750), /usr/share/fimbeat (fields.yml, templates/, kibana/),
#   /usr/share/doc/fimbeat, fimbeat(1), bash completion, /lib/systemd/system/fimbeat.service.
# Dependencies come from dpkg-shlibdeps; the maintainer scripts enable the unit but do not start it.

set(fim_package_dir ${CMAKE_SOURCE_DIR}/deploy/package)
set(fim_generated ${CMAKE_BINARY_DIR}/package)

install(TARGETS fimbeat RUNTIME DESTINATION lib/fimbeat)
install(PROGRAMS ${fim_package_dir}/fimbeat.sh DESTINATION bin RENAME fimbeat)
install(FILES ${fim_package_dir}/fimbeat.yml DESTINATION /etc/fimbeat PERMISSIONS OWNER_READ OWNER_WRITE)
install(DIRECTORY DESTINATION /var/lib/fimbeat DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
install(DIRECTORY DESTINATION /var/log/fimbeat
        DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/systemd/fimbeat.service DESTINATION /lib/systemd/system)
install(FILES ${CMAKE_SOURCE_DIR}/fields/fields.yml DESTINATION share/fimbeat)
install(FILES ${CMAKE_SOURCE_DIR}/templates/index-template.json ${CMAKE_SOURCE_DIR}/templates/ilm-policy.json
        DESTINATION share/fimbeat/templates)
# Kibana's saved objects: `fimbeat setup --dashboards` reads them from <path.home>/kibana.
install(DIRECTORY ${CMAKE_SOURCE_DIR}/kibana/ DESTINATION share/fimbeat/kibana
        FILES_MATCHING PATTERN "*.json")
# The modes lintian would warn about are the ones the package means: each override says why.
install(FILES ${fim_package_dir}/lintian-overrides DESTINATION share/lintian/overrides RENAME fimbeat)
install(FILES ${fim_package_dir}/fimbeat.bash-completion DESTINATION share/bash-completion/completions
        RENAME fimbeat)
install(FILES ${fim_package_dir}/copyright ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/CHANGELOG.md
              ${CMAKE_SOURCE_DIR}/docs/operations.md ${CMAKE_SOURCE_DIR}/docs/configuration.md
              ${CMAKE_SOURCE_DIR}/docs/kibana.md
        DESTINATION share/doc/fimbeat)

# The man page and the Debian changelog, compressed as Debian wants them (gzip -9n: no name or time).
configure_file(${fim_package_dir}/changelog.in ${fim_generated}/changelog @ONLY)
add_custom_command(OUTPUT ${fim_generated}/fimbeat.1.gz
                   COMMAND sh -c "gzip -9nc < '${fim_package_dir}/fimbeat.1' > '${fim_generated}/fimbeat.1.gz'"
                   DEPENDS ${fim_package_dir}/fimbeat.1 VERBATIM)
add_custom_command(OUTPUT ${fim_generated}/changelog.gz
                   COMMAND sh -c "gzip -9nc < '${fim_generated}/changelog' > '${fim_generated}/changelog.gz'"
                   DEPENDS ${fim_generated}/changelog VERBATIM)
add_custom_target(fim_package_files ALL DEPENDS ${fim_generated}/fimbeat.1.gz ${fim_generated}/changelog.gz)
install(FILES ${fim_generated}/fimbeat.1.gz DESTINATION share/man/man1)
install(FILES ${fim_generated}/changelog.gz DESTINATION share/doc/fimbeat)

# cpack installs fimbeat and the generated files only (make package builds them): not every test.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME fimbeat)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR})
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "fimbeat maintainers <maintainers@users.noreply.r-seed-fe4fa8ef.example>")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "file integrity monitoring agent shipping changes as ECS events")
# CPack writes the summary as the synopsis and indents each line of the description itself.
set(CPACK_PACKAGE_DESCRIPTION "fimbeat keeps a baseline of the files it watches, sees every change in real
time with inotify or fanotify (naming the process that made it), and ships
each change as an Elastic Common Schema event to Elasticsearch, to local
files or to the console. It reads Auditbeat's file_integrity configuration.

The package installs a systemd unit, enabled but not started: check
/etc/fimbeat/fimbeat.yml, then run `systemctl start fimbeat`.")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${fim_package_dir}/postinst ${fim_package_dir}/prerm ${fim_package_dir}/postrm ${fim_package_dir}/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
