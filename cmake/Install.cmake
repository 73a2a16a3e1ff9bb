# SPDX-License-Identifier: MIT
# What `cmake --install` puts where, and the .deb `cpack` builds from it:
#   bin/reprise                          the CLI
#   lib/libreprise.a, include/reprise/   the library and its public headers
#   lib/pkgconfig/reprise.pc             pkg-config --cflags --libs reprise (relocatable)
#   share/man/man1/reprise*.1            reprise(1) and one page per command, made from
#                                        docs/help/*.txt by cmake/man.awk
#   share/bash-completion/completions/reprise, and zsh's _reprise
include(GNUInstallDirs)

install(TARGETS reprise RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS reprise_lib ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY include/reprise DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")

# The .pc file finds its prefix from where it lies, so a staged or relocated install works.
file(RELATIVE_PATH REPRISE_PC_PREFIX_REL "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
string(REGEX REPLACE "/$" "" REPRISE_PC_PREFIX_REL "${REPRISE_PC_PREFIX_REL}")
configure_file(cmake/reprise.pc.in ${CMAKE_CURRENT_BINARY_DIR}/reprise.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/reprise.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# Man pages: reprise.1 from the overview, reprise-COMMAND.1 from each command's help text.
find_program(REPRISE_AWK NAMES awk mawk gawk REQUIRED)
set(_pages "")
set(_see_also "")
foreach(_txt ${REPRISE_HELP_TEXTS})
    get_filename_component(_cmd ${_txt} NAME_WE)
    if(NOT _cmd STREQUAL "reprise")
        list(APPEND _see_also "reprise-${_cmd}(1)")
    endif()
endforeach()
list(JOIN _see_also ", " _see_also)
foreach(_txt ${REPRISE_HELP_TEXTS})
    get_filename_component(_cmd ${_txt} NAME_WE)
    if(_cmd STREQUAL "reprise")
        set(_page reprise)
        set(_see "${_see_also}")
    else()
        set(_page reprise-${_cmd})
        set(_see "reprise(1)")
    endif()
    set(_out ${CMAKE_CURRENT_BINARY_DIR}/man/${_page}.1)
    add_custom_command(
        OUTPUT ${_out}
        COMMAND ${CMAKE_COMMAND} -DAWK=${REPRISE_AWK} -DSCRIPT=${PROJECT_SOURCE_DIR}/cmake/man.awk
                -DNAME=${_page} -DOVERVIEW=${PROJECT_SOURCE_DIR}/docs/help/reprise.txt
                -DVERSION=${PROJECT_VERSION} "-DSEE_ALSO=${_see}" -DIN=${_txt} -DOUT=${_out}
                -P ${PROJECT_SOURCE_DIR}/cmake/man.cmake
        DEPENDS ${_txt} ${PROJECT_SOURCE_DIR}/docs/help/reprise.txt cmake/man.awk cmake/man.cmake
        VERBATIM)
    list(APPEND _pages ${_out})
endforeach()
add_custom_target(reprise_man ALL DEPENDS ${_pages})
install(FILES ${_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# Shell completions. zsh looks in site-functions under /usr/local, in vendor-completions under
# /usr (Debian's zsh).
install(FILES completions/reprise.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME reprise)
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(REPRISE_ZSH_DIR ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
else()
    set(REPRISE_ZSH_DIR ${CMAKE_INSTALL_DATADIR}/zsh/site-functions)
endif()
install(FILES completions/_reprise DESTINATION ${REPRISE_ZSH_DIR})

# cpack -G DEB: a .deb of the same files under /usr, its library dependencies found by
# dpkg-shlibdeps.
set(CPACK_PACKAGE_NAME reprise)
set(CPACK_PACKAGE_VENDOR "reprise")
set(CPACK_PACKAGE_CONTACT "reprise maintainers <reprise@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "record a web session once; replay it against production after every deploy")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_GENERATOR DEB)
include(CPack)
