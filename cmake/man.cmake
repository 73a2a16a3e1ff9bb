# SPDX-License-Identifier: MIT
# Runs cmake/man.awk on one help text (see there), writing the page to OUT:
#   cmake -DAWK=awk -DSCRIPT=cmake/man.awk -DNAME=reprise-show -DOVERVIEW=docs/help/reprise.txt
#         -DVERSION=0.1.0 -DSEE_ALSO="reprise(1)" -DIN=docs/help/show.txt -DOUT=reprise-show.1
#         -P cmake/man.cmake
get_filename_component(_dir ${OUT} DIRECTORY)
file(MAKE_DIRECTORY ${_dir})
execute_process(
    COMMAND ${AWK} -v name=${NAME} -v overview=${OVERVIEW} -v version=${VERSION}
            -v see_also=${SEE_ALSO} -f ${SCRIPT} ${IN}
    OUTPUT_FILE ${OUT}.tmp
    RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "man.awk failed on ${IN}: ${_rc}")
endif()
file(RENAME ${OUT}.tmp ${OUT})
