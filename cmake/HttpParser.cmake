# SPDX-License-Identifier: MIT
# Finds nodejs http-parser (Debian: libhttp-parser-dev), which ships no pkg-config file, and
# defines the imported target HttpParser::HttpParser. Include it from the top-level CMakeLists.
find_path(HTTP_PARSER_INCLUDE_DIR http_parser.h)
find_library(HTTP_PARSER_LIBRARY http_parser)
if(NOT HTTP_PARSER_INCLUDE_DIR OR NOT HTTP_PARSER_LIBRARY)
    message(FATAL_ERROR "http-parser not found (http_parser.h and libhttp_parser): "
                        "install libhttp-parser-dev")
endif()
if(NOT TARGET HttpParser::HttpParser)
    add_library(HttpParser::HttpParser UNKNOWN IMPORTED)
    set_target_properties(HttpParser::HttpParser PROPERTIES
        IMPORTED_LOCATION "${HTTP_PARSER_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${HTTP_PARSER_INCLUDE_DIR}")
endif()
mark_as_advanced(HTTP_PARSER_INCLUDE_DIR HTTP_PARSER_LIBRARY)
