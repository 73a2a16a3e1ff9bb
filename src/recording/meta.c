/* SPDX-License-Identifier: MIT */
/* The recording's meta record: initialising, freeing, copying it and adding tenants. */
#include <stdlib.h>
#include <string.h>

#include <reprise/limits.h>
#include <reprise/recording.h>

/* ----- meta ------------------------------------------------------------------------------- */

void rp_rec_meta_init(struct rp_rec_meta *m)
{
    memset(m, 0, sizeof(*m));
}

void rp_rec_meta_cleanup(struct rp_rec_meta *m)
{
    free(m->name);
    free(m->created);
    free(m->source_kind);
    free(m->source_detail);
    for (size_t i = 0; i < m->n_tenants; i++) {
        free(m->tenants[i]);
    }
    free(m->tenants);
    free(m->extra);
    rp_rec_meta_init(m);
}

rp_code rp_rec_meta_add_tenant(struct rp_rec_meta *m, const char *tenant, struct rp_error *err)
{
    if (m->n_tenants >= RP_MAX_TENANTS) {
        return rp_error_set(err, RP_ETOOBIG, "more than %u tenants", RP_MAX_TENANTS);
    }
    m->tenants = rp_xreallocarray(m->tenants, m->n_tenants + 1, sizeof(*m->tenants));
    m->tenants[m->n_tenants++] = rp_xstrdup(tenant);
    return RP_OK;
}

rp_code rp_rec_meta_copy(struct rp_rec_meta *dst, const struct rp_rec_meta *src,
                         struct rp_error *err)
{
    rp_rec_meta_cleanup(dst);
    dst->name = rp_xstrdup(src->name);
    dst->created = rp_xstrdup(src->created);
    dst->source_kind = rp_xstrdup(src->source_kind);
    dst->source_detail = rp_xstrdup(src->source_detail);
    dst->extra = rp_xstrdup(src->extra);
    for (size_t i = 0; i < src->n_tenants; i++) {
        rp_code rc = rp_rec_meta_add_tenant(dst, src->tenants[i], err);
        if (rc) {
            rp_rec_meta_cleanup(dst);
            return rc;
        }
    }
    return RP_OK;
}
