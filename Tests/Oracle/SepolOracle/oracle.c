/*
 * SepolOracle: libsepol 3.4 behind a small C API (see include/SepolOracle.h).
 *
 * This file only marshals: it resolves names to values through the policy's symbol tables,
 * hands them to libsepol's services and formats the answers. No access or labeling decision is
 * computed here.
 */
#define _GNU_SOURCE
#include "SepolOracle.h"

#include <errno.h>
#include <malloc.h>
#include <time.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sepol/debug.h>
#include <sepol/handle.h>
#include <sepol/policydb/conditional.h>
#include <sepol/policydb/context.h>
#include <sepol/policydb/ebitmap.h>
#include <sepol/policydb/hashtab.h>
#include <sepol/policydb/policydb.h>
#include <sepol/policydb/services.h>
#include <sepol/policydb/sidtab.h>

/* libsepol internals that the static library exports but no installed header declares
 * (declarations as in libsepol 3.4 src/mls.h and src/debug.h). */
extern int mls_to_string(sepol_handle_t *handle, const policydb_t *policydb,
                         const context_struct_t *mls, char **str);
extern sepol_handle_t sepol_compat_handle;

struct sepol_oracle {
    policydb_t policydb;
    sidtab_t sidtab;
    char message[512];
    /* policy values of the types that are not attributes, and of the attributes */
    uint32_t *types;
    uint32_t ntypes;
    uint32_t *attributes;
    uint32_t nattributes;
};

/* One lock for all of libsepol's global state (the active policydb and sidtab, its message
 * handle, the static buffers of its reason functions). */
static pthread_mutex_t oracle_lock = PTHREAD_MUTEX_INITIALIZER;
static sepol_oracle *active;      /* receives libsepol's messages; guarded by oracle_lock */
static int callback_installed;    /* guarded by oracle_lock */

static void on_message(void *arg, sepol_handle_t *handle, const char *fmt, ...)
{
    (void)arg;
    (void)handle;
    if (!active)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(active->message, sizeof active->message, fmt, ap);
    va_end(ap);
}

/* Locks and makes `o` libsepol's current policy. */
static void enter(sepol_oracle *o)
{
    pthread_mutex_lock(&oracle_lock);
    if (!callback_installed) {
        sepol_msg_set_callback(&sepol_compat_handle, on_message, NULL);
        callback_installed = 1;
    }
    active = o;
    if (o) {
        o->message[0] = '\0';
        sepol_set_policydb(&o->policydb);
        sepol_set_sidtab(&o->sidtab);
    }
}

static void leave(void)
{
    active = NULL;
    pthread_mutex_unlock(&oracle_lock);
}

/* libsepol mixes STATUS_ERR (-1) with negative errno values. -1 would read as -EPERM. */
static int norm(int rc)
{
    if (rc == 0)
        return 0;
    if (rc == -1)
        return -EINVAL;
    return rc < 0 ? rc : -EINVAL;
}

static int copy_out(const char *s, char *out, size_t outlen)
{
    size_t n = strlen(s);
    if (!out || outlen == 0)
        return -ERANGE;
    if (n + 1 > outlen) {
        memcpy(out, s, outlen - 1);
        out[outlen - 1] = '\0';
        return -ERANGE;
    }
    memcpy(out, s, n + 1);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */

sepol_oracle *sepol_oracle_open(const char *path, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    FILE *fp = fopen(path, "re");
    if (!fp) {
        if (err && errlen)
            snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    sepol_oracle *o = calloc(1, sizeof *o);
    if (!o) {
        fclose(fp);
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return NULL;
    }

    enter(o);
    int ok = 0;
    struct policy_file pf;
    policy_file_init(&pf);
    pf.type = PF_USE_STDIO;
    pf.fp = fp;
    pf.handle = NULL; /* messages go to the compat handle, i.e. on_message */

    if (policydb_init(&o->policydb)) {
        snprintf(o->message, sizeof o->message, "policydb_init failed");
        goto out;
    }
    if (policydb_read(&o->policydb, &pf, 0)) {
        char why[sizeof o->message];
        memcpy(why, o->message, sizeof why);
        snprintf(o->message, sizeof o->message, "policydb_read failed: %.480s", why);
        policydb_destroy(&o->policydb);
        goto out;
    }
    if (o->policydb.policy_type != POLICY_KERN) {
        snprintf(o->message, sizeof o->message, "not a kernel (binary) policy");
        policydb_destroy(&o->policydb);
        goto out;
    }
    /* Initial SIDs keep their numbers, as in the kernel's SID table. */
    if (policydb_load_isids(&o->policydb, &o->sidtab)) {
        snprintf(o->message, sizeof o->message, "cannot load the initial SIDs");
        sepol_sidtab_destroy(&o->sidtab);
        policydb_destroy(&o->policydb);
        goto out;
    }
    /* Bring every conditional's rules in line with the booleans stored in the file: force
     * libsepol's evaluate_conds to rewrite each node by invalidating the cached state. */
    for (cond_node_t *c = o->policydb.cond_list; c; c = c->next)
        c->cur_state = -2;
    if (evaluate_conds(&o->policydb)) {
        snprintf(o->message, sizeof o->message, "evaluate_conds failed");
        sepol_sidtab_destroy(&o->sidtab);
        policydb_destroy(&o->policydb);
        goto out;
    }

    /* Index types and attributes (aliases share their primary's value and are not listed). */
    uint32_t n = o->policydb.p_types.nprim;
    o->types = calloc(n ? n : 1, sizeof *o->types);
    o->attributes = calloc(n ? n : 1, sizeof *o->attributes);
    if (!o->types || !o->attributes) {
        snprintf(o->message, sizeof o->message, "out of memory");
        free(o->types);
        free(o->attributes);
        sepol_sidtab_destroy(&o->sidtab);
        policydb_destroy(&o->policydb);
        goto out;
    }
    for (uint32_t v = 1; v <= n; v++) {
        type_datum_t *t = o->policydb.type_val_to_struct[v - 1];
        if (!t)
            continue;
        if (t->flavor == TYPE_ATTRIB)
            o->attributes[o->nattributes++] = v;
        else
            o->types[o->ntypes++] = v;
    }
    ok = 1;

out:
    if (!ok && err && errlen)
        snprintf(err, errlen, "%s: %s", path, o->message[0] ? o->message : "cannot read policy");
    leave();
    fclose(fp);
    if (!ok) {
        free(o);
        return NULL;
    }
    return o;
}

void sepol_oracle_close(sepol_oracle *o)
{
    if (!o)
        return;
    enter(NULL);
    sepol_sidtab_destroy(&o->sidtab);
    policydb_destroy(&o->policydb);
    leave();
    free(o->types);
    free(o->attributes);
    free(o);
}

const char *sepol_oracle_last_message(sepol_oracle *o)
{
    return o->message;
}

unsigned sepol_oracle_policy_version(sepol_oracle *o)
{
    return o->policydb.policyvers;
}

int sepol_oracle_mls_enabled(sepol_oracle *o)
{
    return o->policydb.mls ? 1 : 0;
}

int sepol_oracle_handle_unknown(sepol_oracle *o)
{
    return (int)o->policydb.handle_unknown;
}

/* ------------------------------------------------------------------------------------------ */
/* Booleans */

int sepol_oracle_set_bool(sepol_oracle *o, const char *name, int value)
{
    enter(o);
    int rc = 0;
    cond_bool_datum_t *b = hashtab_search(o->policydb.p_bools.table, (hashtab_key_t)name);
    if (!b) {
        rc = -EINVAL;
    } else {
        b->state = value ? 1 : 0;
        if (evaluate_conds(&o->policydb))
            rc = -EINVAL;
    }
    leave();
    return rc;
}

int sepol_oracle_get_bool(sepol_oracle *o, const char *name, int *value)
{
    enter(o);
    cond_bool_datum_t *b = hashtab_search(o->policydb.p_bools.table, (hashtab_key_t)name);
    if (b && value)
        *value = b->state ? 1 : 0;
    leave();
    return b ? 0 : -EINVAL;
}

/* ------------------------------------------------------------------------------------------ */
/* Names to values (lock held) */

static class_datum_t *find_class(sepol_oracle *o, const char *name)
{
    return hashtab_search(o->policydb.p_classes.table, (hashtab_key_t)name);
}

struct perm_walk {
    uint32_t value;    /* in: permission value to find (0: none) */
    const char *name;  /* out */
    uint32_t mask;     /* out: union of every permission bit */
    int count;         /* out */
};

static int perm_walk_cb(hashtab_key_t key, hashtab_datum_t datum, void *arg)
{
    struct perm_walk *w = arg;
    perm_datum_t *p = datum;
    if (p->s.value >= 1 && p->s.value <= 32)
        w->mask |= UINT32_C(1) << (p->s.value - 1);
    w->count++;
    if (w->value && p->s.value == w->value)
        w->name = key;
    return 0;
}

static void walk_perms(class_datum_t *c, struct perm_walk *w)
{
    hashtab_map(c->permissions.table, perm_walk_cb, w);
    if (c->comdatum)
        hashtab_map(c->comdatum->permissions.table, perm_walk_cb, w);
}

static uint32_t class_mask(class_datum_t *c)
{
    struct perm_walk w = { 0, NULL, 0, 0 };
    walk_perms(c, &w);
    return w.mask;
}

static int resolve(const char *con, sepol_security_id_t *sid)
{
    if (!con || !*con)
        return -EINVAL;
    return norm(sepol_context_to_sid(con, strlen(con), sid));
}

/* ------------------------------------------------------------------------------------------ */
/* Access decisions */

int sepol_oracle_compute_av(sepol_oracle *o, const char *scon, const char *tcon, const char *tclass,
                            uint32_t *allowed, uint32_t *auditallow, uint32_t *auditdeny,
                            uint32_t *reason)
{
    enter(o);
    sepol_security_id_t ssid = 0, tsid = 0;
    struct sepol_av_decision avd;
    unsigned int why = 0;
    int rc;
    class_datum_t *c = find_class(o, tclass);
    if (!c) {
        rc = -EINVAL;
        goto out;
    }
    if ((rc = resolve(scon, &ssid)) || (rc = resolve(tcon, &tsid)))
        goto out;
    memset(&avd, 0, sizeof avd);
    rc = norm(sepol_compute_av_reason(ssid, tsid, (sepol_security_class_t)c->s.value, class_mask(c),
                                      &avd, &why));
    if (rc)
        goto out;
    if (allowed)
        *allowed = avd.allowed;
    if (auditallow)
        *auditallow = avd.auditallow;
    if (auditdeny)
        *auditdeny = avd.auditdeny;
    if (reason)
        *reason = why;
out:
    leave();
    return rc;
}

int sepol_oracle_context_to_sid(sepol_oracle *o, const char *con, uint32_t *sid)
{
    enter(o);
    sepol_security_id_t s = 0;
    int rc = resolve(con, &s);
    if (!rc && sid)
        *sid = s;
    leave();
    return rc;
}

int sepol_oracle_sid_to_context(sepol_oracle *o, uint32_t sid, char *out, size_t outlen)
{
    enter(o);
    sepol_security_context_t con = NULL;
    size_t len = 0;
    int rc = norm(sepol_sid_to_context(sid, &con, &len));
    if (!rc)
        rc = copy_out(con, out, outlen);
    free(con);
    leave();
    return rc;
}

int sepol_oracle_class_value(sepol_oracle *o, const char *tclass, uint16_t *value)
{
    enter(o);
    class_datum_t *c = find_class(o, tclass);
    if (c && value)
        *value = (uint16_t)c->s.value;
    leave();
    return c ? 0 : -EINVAL;
}

int sepol_oracle_compute_av_sids(sepol_oracle *o, uint32_t ssid, uint32_t tsid, uint16_t tclass,
                                 uint32_t *allowed, uint32_t *auditallow, uint32_t *auditdeny)
{
    enter(o);
    int rc;
    struct sepol_av_decision avd;
    unsigned int why = 0;
    if (tclass == 0 || tclass > o->policydb.p_classes.nprim) {
        rc = -EINVAL;
        goto out;
    }
    rc = norm(sepol_compute_av_reason(ssid, tsid, tclass,
                                      class_mask(o->policydb.class_val_to_struct[tclass - 1]), &avd, &why));
    if (rc)
        goto out;
    if (allowed)
        *allowed = avd.allowed;
    if (auditallow)
        *auditallow = avd.auditallow;
    if (auditdeny)
        *auditdeny = avd.auditdeny;
out:
    leave();
    return rc;
}

int sepol_oracle_perm_count(sepol_oracle *o, const char *tclass)
{
    enter(o);
    int rc;
    class_datum_t *c = find_class(o, tclass);
    if (!c) {
        rc = -EINVAL;
    } else {
        struct perm_walk w = { 0, NULL, 0, 0 };
        walk_perms(c, &w);
        rc = w.count;
    }
    leave();
    return rc;
}

const char *sepol_oracle_perm_name(sepol_oracle *o, const char *tclass, unsigned bit)
{
    if (bit >= 32)
        return NULL;
    enter(o);
    const char *name = NULL;
    class_datum_t *c = find_class(o, tclass);
    if (c) {
        struct perm_walk w = { bit + 1, NULL, 0, 0 };
        walk_perms(c, &w);
        name = w.name;
    }
    leave();
    return name;
}

int sepol_oracle_perm_mask(sepol_oracle *o, const char *tclass, const char *perm, uint32_t *mask)
{
    enter(o);
    int rc = -EINVAL;
    class_datum_t *c = find_class(o, tclass);
    if (c) {
        sepol_access_vector_t av = 0;
        if (sepol_string_to_av_perm((sepol_security_class_t)c->s.value, perm, &av) == 0) {
            if (mask)
                *mask = av;
            rc = 0;
        }
    }
    leave();
    return rc;
}

int sepol_oracle_explain_constraints(sepol_oracle *o, const char *scon, const char *tcon,
                                     const char *tclass, int show_granted, char *out, size_t outlen)
{
    enter(o);
    sepol_security_id_t ssid = 0, tsid = 0;
    struct sepol_av_decision avd;
    unsigned int why = 0;
    char *buf = NULL;
    int rc;
    class_datum_t *c = find_class(o, tclass);
    if (!c) {
        rc = -EINVAL;
        goto out;
    }
    if ((rc = resolve(scon, &ssid)) || (rc = resolve(tcon, &tsid)))
        goto out;
    rc = norm(sepol_compute_av_reason_buffer(ssid, tsid, (sepol_security_class_t)c->s.value,
                                             class_mask(c), &avd, &why, &buf,
                                             show_granted ? SHOW_GRANTED : 0));
    if (!rc)
        rc = copy_out(buf ? buf : "", out, outlen);
out:
    free(buf);
    leave();
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Labeling decisions */

int sepol_oracle_compute_sid(sepol_oracle *o, int kind, const char *scon, const char *tcon,
                             const char *tclass, const char *objname, char *out, size_t outlen)
{
    if (objname)
        return -EOPNOTSUPP; /* libsepol 3.4 has no filename transitions (see README) */
    if (kind < SEPOL_ORACLE_TRANSITION || kind > SEPOL_ORACLE_CHANGE)
        return -EINVAL;
    enter(o);
    sepol_security_id_t ssid = 0, tsid = 0, nsid = 0;
    sepol_security_context_t con = NULL;
    size_t len = 0;
    int rc;
    class_datum_t *c = find_class(o, tclass);
    if (!c) {
        rc = -EINVAL;
        goto out;
    }
    if ((rc = resolve(scon, &ssid)) || (rc = resolve(tcon, &tsid)))
        goto out;
    sepol_security_class_t cls = (sepol_security_class_t)c->s.value;
    switch (kind) {
    case SEPOL_ORACLE_TRANSITION:
        rc = sepol_transition_sid(ssid, tsid, cls, &nsid);
        break;
    case SEPOL_ORACLE_MEMBER:
        rc = sepol_member_sid(ssid, tsid, cls, &nsid);
        break;
    default:
        rc = sepol_change_sid(ssid, tsid, cls, &nsid);
        break;
    }
    if ((rc = norm(rc)))
        goto out;
    if ((rc = norm(sepol_sid_to_context(nsid, &con, &len))))
        goto out;
    rc = copy_out(con, out, outlen);
out:
    free(con);
    leave();
    return rc;
}

int sepol_oracle_validate_transition(sepol_oracle *o, const char *oldcon, const char *newcon,
                                     const char *taskcon, const char *tclass)
{
    enter(o);
    sepol_security_id_t osid = 0, nsid = 0, tsid = 0;
    char *buf = NULL;
    int rc;
    class_datum_t *c = find_class(o, tclass);
    if (!c) {
        rc = -EINVAL;
        goto out;
    }
    if ((rc = resolve(oldcon, &osid)) || (rc = resolve(newcon, &nsid)) || (rc = resolve(taskcon, &tsid)))
        goto out;
    /* returns 0, -EPERM (denied) or -EINVAL */
    rc = sepol_validate_transition_reason_buffer(osid, nsid, tsid, (sepol_security_class_t)c->s.value,
                                                 &buf, 0);
out:
    free(buf);
    leave();
    return rc;
}

int sepol_oracle_context_valid(sepol_oracle *o, const char *con)
{
    enter(o);
    int valid = con && *con && sepol_context_to_sid(con, strlen(con), NULL) == 0;
    leave();
    return valid ? 1 : 0;
}

int sepol_oracle_type_is_permissive(sepol_oracle *o, const char *type)
{
    enter(o);
    int rc;
    type_datum_t *t = hashtab_search(o->policydb.p_types.table, (hashtab_key_t)type);
    if (!t || t->flavor == TYPE_ATTRIB)
        rc = -EINVAL;
    else
        /* the permissive map is indexed by type value (bit 0 unused), as in the kernel */
        rc = ebitmap_get_bit(&o->policydb.permissive_map, t->s.value) ? 1 : 0;
    leave();
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Enumeration */

int sepol_oracle_symbol_count(sepol_oracle *o, int kind)
{
    policydb_t *p = &o->policydb;
    switch (kind) {
    case SEPOL_ORACLE_SYM_TYPE: return (int)o->ntypes;
    case SEPOL_ORACLE_SYM_ATTRIBUTE: return (int)o->nattributes;
    case SEPOL_ORACLE_SYM_ROLE: return (int)p->p_roles.nprim;
    case SEPOL_ORACLE_SYM_USER: return (int)p->p_users.nprim;
    case SEPOL_ORACLE_SYM_CLASS: return (int)p->p_classes.nprim;
    case SEPOL_ORACLE_SYM_BOOL: return (int)p->p_bools.nprim;
    case SEPOL_ORACLE_SYM_SENSITIVITY: return p->mls ? (int)p->p_levels.nprim : 0;
    case SEPOL_ORACLE_SYM_CATEGORY: return p->mls ? (int)p->p_cats.nprim : 0;
    default: return -EINVAL;
    }
}

const char *sepol_oracle_symbol_name(sepol_oracle *o, int kind, unsigned index)
{
    policydb_t *p = &o->policydb;
    if ((int)index >= sepol_oracle_symbol_count(o, kind) || sepol_oracle_symbol_count(o, kind) < 0)
        return NULL;
    switch (kind) {
    case SEPOL_ORACLE_SYM_TYPE: return p->p_type_val_to_name[o->types[index] - 1];
    case SEPOL_ORACLE_SYM_ATTRIBUTE: return p->p_type_val_to_name[o->attributes[index] - 1];
    case SEPOL_ORACLE_SYM_ROLE: return p->p_role_val_to_name[index];
    case SEPOL_ORACLE_SYM_USER: return p->p_user_val_to_name[index];
    case SEPOL_ORACLE_SYM_CLASS: return p->p_class_val_to_name[index];
    case SEPOL_ORACLE_SYM_BOOL: return p->p_bool_val_to_name[index];
    case SEPOL_ORACLE_SYM_SENSITIVITY: return p->p_sens_val_to_name[index];
    case SEPOL_ORACLE_SYM_CATEGORY: return p->p_cat_val_to_name[index];
    default: return NULL;
    }
}

/* Lists the names (from `names_by_value`, 0-based) of the bits set in `map`; for types,
 * attributes are skipped. */
static void list_bits(sepol_oracle *o, const ebitmap_t *map, char **names_by_value, int types_only,
                      const char **out, size_t cap, size_t *count)
{
    size_t n = 0;
    ebitmap_node_t *node;
    unsigned int bit;
    ebitmap_for_each_positive_bit(map, node, bit) {
        if (types_only) {
            type_datum_t *t = o->policydb.type_val_to_struct[bit];
            if (!t || t->flavor == TYPE_ATTRIB)
                continue;
        }
        if (out && n < cap)
            out[n] = names_by_value[bit];
        n++;
    }
    if (count)
        *count = n;
}

int sepol_oracle_role_types(sepol_oracle *o, const char *role, const char **names, size_t cap, size_t *count)
{
    enter(o);
    int rc = 0;
    role_datum_t *r = hashtab_search(o->policydb.p_roles.table, (hashtab_key_t)role);
    if (!r)
        rc = -EINVAL;
    else
        list_bits(o, &r->cache, o->policydb.p_type_val_to_name, 1, names, cap, count);
    leave();
    return rc;
}

int sepol_oracle_user_roles(sepol_oracle *o, const char *user, const char **names, size_t cap, size_t *count)
{
    enter(o);
    int rc = 0;
    user_datum_t *u = hashtab_search(o->policydb.p_users.table, (hashtab_key_t)user);
    if (!u)
        rc = -EINVAL;
    else
        list_bits(o, &u->cache, o->policydb.p_role_val_to_name, 0, names, cap, count);
    leave();
    return rc;
}

int sepol_oracle_attribute_types(sepol_oracle *o, const char *attr, const char **names, size_t cap, size_t *count)
{
    enter(o);
    int rc = 0;
    type_datum_t *a = hashtab_search(o->policydb.p_types.table, (hashtab_key_t)attr);
    if (!a || a->flavor != TYPE_ATTRIB || !o->policydb.attr_type_map)
        rc = -EINVAL;
    else
        list_bits(o, &o->policydb.attr_type_map[a->s.value - 1], o->policydb.p_type_val_to_name, 1,
                  names, cap, count);
    leave();
    return rc;
}

static int format_range(sepol_oracle *o, const mls_level_t *low, const mls_level_t *high, char *out, size_t outlen)
{
    context_struct_t ctx;
    char *s = NULL;
    int rc;
    context_init(&ctx);
    ctx.range.level[0].sens = low->sens;
    ctx.range.level[1].sens = high->sens;
    if (ebitmap_cpy(&ctx.range.level[0].cat, &low->cat) || ebitmap_cpy(&ctx.range.level[1].cat, &high->cat)) {
        context_destroy(&ctx);
        return -ENOMEM;
    }
    rc = norm(mls_to_string(NULL, &o->policydb, &ctx, &s));
    if (!rc)
        rc = copy_out(s, out, outlen);
    free(s);
    context_destroy(&ctx);
    return rc;
}

int sepol_oracle_user_range(sepol_oracle *o, const char *user, char *range, size_t rangelen,
                            char *default_level, size_t levellen)
{
    enter(o);
    int rc = 0;
    user_datum_t *u = hashtab_search(o->policydb.p_users.table, (hashtab_key_t)user);
    if (!u)
        rc = -EINVAL;
    else if (!o->policydb.mls)
        rc = -EOPNOTSUPP;
    else {
        if (range)
            rc = format_range(o, &u->exp_range.level[0], &u->exp_range.level[1], range, rangelen);
        if (!rc && default_level)
            rc = format_range(o, &u->exp_dfltlevel, &u->exp_dfltlevel, default_level, levellen);
    }
    leave();
    return rc;
}

size_t sepol_oracle_heap_in_use(void)
{
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

int sepol_oracle_bench_read(const char *path, uint64_t *nanoseconds, size_t *heap_bytes)
{
    struct timespec start, end;
    size_t before = sepol_oracle_heap_in_use();
    clock_gettime(CLOCK_MONOTONIC, &start);
    FILE *fp = fopen(path, "re");
    if (!fp)
        return -1;
    policydb_t db;
    struct policy_file pf;
    policy_file_init(&pf);
    pf.type = PF_USE_STDIO;
    pf.fp = fp;
    int rc = -1;
    if (policydb_init(&db) == 0) {
        if (policydb_read(&db, &pf, 0) == 0) {
            clock_gettime(CLOCK_MONOTONIC, &end);
            *nanoseconds = (uint64_t)(end.tv_sec - start.tv_sec) * 1000000000u + (uint64_t)end.tv_nsec - (uint64_t)start.tv_nsec;
            *heap_bytes = sepol_oracle_heap_in_use() - before;
            rc = 0;
        }
        policydb_destroy(&db);
    }
    fclose(fp);
    return rc;
}
