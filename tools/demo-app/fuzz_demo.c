/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the demo's own parsers (STYLE rule 24): the first byte picks one, the
 * rest is its input.
 *
 *   0  a GraphQL request body (JSON object or batch) run by graphql.c, variables included
 *   1  a multipart/form-data body with the boundary "XyZ" (forms.c)
 *   2  an application/x-www-form-urlencoded body (forms.c)
 *
 * Built as reprise-demo-fuzz with -DREPRISE_FUZZ=ON -DREPRISE_BUILD_DEMO=ON (CC=clang).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "demo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct demo_app app;
    if (!app.objs) {
        app.store = demo_store_new();
        app.objs = demo_objects_new(1);
    }
    if (size < 1 || size > DEMO_MAX_BODY) {
        return 0;
    }
    char *body = demo_xmalloc(size);
    memcpy(body, data + 1, size - 1);
    body[size - 1] = '\0';
    if (data[0] == 0) {
        cJSON *j = cJSON_ParseWithOpts(body, NULL, 0);
        if (cJSON_IsArray(j) && cJSON_GetArraySize(j) <= 10) {
            const cJSON *e = NULL;
            cJSON_ArrayForEach(e, j)
            {
                cJSON_Delete(demo_graphql_run(&app, "acme", e));
            }
        } else if (j) {
            cJSON_Delete(demo_graphql_run(&app, "acme", j));
        }
        cJSON_Delete(j);
    } else {
        struct demo_request rq = {
            .method = "POST",
            .path = "/",
            .body = body,
            .body_len = size - 1,
            .content_type = data[0] == 1 ? "multipart/form-data; boundary=XyZ"
                                         : "application/x-www-form-urlencoded",
        };
        struct demo_form f;
        if (demo_form_parse(&rq, &f)) {
            (void)demo_form_get(&f, "name");
            demo_form_cleanup(&f);
        }
    }
    free(body);
    return 0;
}
