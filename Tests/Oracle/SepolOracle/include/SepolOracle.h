/*
 * SepolOracle: a small C API over libsepol 3.4, the reference implementation of the SELinux
 * security server, used by salabel's conformance tests and benchmarks (test-only).
 *
 * Every decision is libsepol's own: sepol_compute_av_reason, sepol_transition_sid /
 * sepol_member_sid / sepol_change_sid, sepol_context_to_sid, sepol_sid_to_context,
 * sepol_validate_transition_reason_buffer, evaluate_conds. This file adds no decision logic;
 * the enumeration functions only read the policy database.
 *
 * Where libsepol's userspace security server differs from the Linux kernel's (filename
 * transitions, socket classes, handle_unknown, unknown SIDs, permissive domains, ...), see
 * Tests/Oracle/README.md.
 *
 * Conventions
 *  - Functions returning int return 0 on success and a negative errno value on failure
 *    (-EINVAL: a context, class, type, role, user or bool that the policy does not define or
 *    that is invalid; -ENOENT: an index or name not found; -ERANGE: an output buffer too small;
 *    -ENOMEM; -EOPNOTSUPP: libsepol cannot answer). Predicates return 1 / 0, or a negative errno.
 *  - Permission bit i (mask 1 << i) is the permission whose policy value is i + 1, in the order
 *    the policy declares them (common permissions first). Vectors are libsepol's raw ones: rules
 *    written with `*` or `~` also set bits at or above sepol_oracle_perm_count; ignore those.
 *  - "Value order" below is the policy's numbering, which checkpolicy does not assign in
 *    declaration order for types: compare type lists as sets.
 *  - Thread safety: libsepol's services keep the active policy in global variables
 *    (sepol_set_policydb, sepol_set_sidtab). Every function below takes one process-wide lock,
 *    installs the oracle's own policydb and SID table, calls libsepol and releases the lock, so
 *    several oracles may be open at once and may be used from several threads (serialized).
 *  - Strings returned as `const char *` point into the policy database and stay valid until
 *    sepol_oracle_close.
 */
#ifndef SEPOL_ORACLE_H
#define SEPOL_ORACLE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** An opened binary (kernel) policy with its own SID table. */
typedef struct sepol_oracle sepol_oracle;

/* ---------------------------------------------------------------------------------------------
 * Opening and closing
 * ------------------------------------------------------------------------------------------- */

/**
 * Reads a binary kernel policy (e.g. `checkpolicy -o X.bin`, or /etc/selinux/.../policy.33)
 * with policydb_read, loads its initial SIDs into a fresh SID table (so SID n is initial SID n,
 * as in the kernel), and re-evaluates every conditional from the boolean values stored in the
 * file. Returns NULL on failure, with a message in `err` (if non-NULL, `errlen` bytes).
 */
sepol_oracle *sepol_oracle_open(const char *binary_policy_path, char *err, size_t errlen);

/** Frees the policy database and SID table. NULL is accepted. */
void sepol_oracle_close(sepol_oracle *o);

/**
 * For benchmarks: reads a binary policy with policydb_init + policydb_read only (no SID table,
 * no index), as a loader would. Sets `*nanoseconds` to the time from fopen to the end of
 * policydb_read and `*heap_bytes` to the malloc heap the read database holds (glibc mallinfo2,
 * in-use bytes before and after), then frees it. Returns 0, or -1 when the file does not read.
 */
int sepol_oracle_bench_read(const char *binary_policy_path, uint64_t *nanoseconds, size_t *heap_bytes);

/** The bytes of malloc heap in use now (glibc mallinfo2: uordblks + hblkhd), for benchmarks. */
size_t sepol_oracle_heap_in_use(void);

/** The last message libsepol logged while serving this oracle ("" if none). Valid until the
 *  next call on the same oracle. */
const char *sepol_oracle_last_message(sepol_oracle *o);

/* ---------------------------------------------------------------------------------------------
 * Policy properties
 * ------------------------------------------------------------------------------------------- */

/** The policy version of the file (e.g. 33). */
unsigned sepol_oracle_policy_version(sepol_oracle *o);

/** 1 if the policy is an MLS policy (contexts carry a range), else 0. */
int sepol_oracle_mls_enabled(sepol_oracle *o);

/** handle_unknown as stored in the policy: 0 deny, 2 reject, 4 allow (SEPOL_DENY_UNKNOWN,
 *  SEPOL_REJECT_UNKNOWN, SEPOL_ALLOW_UNKNOWN). libsepol's own decisions ignore it. */
int sepol_oracle_handle_unknown(sepol_oracle *o);

/* ---------------------------------------------------------------------------------------------
 * Booleans
 * ------------------------------------------------------------------------------------------- */

/** Sets boolean `name` to `value` (0 or non-zero) and re-evaluates every conditional with
 *  libsepol's evaluate_conds. -EINVAL if the policy has no such boolean. */
int sepol_oracle_set_bool(sepol_oracle *o, const char *name, int value);

/** The current value (0/1) of boolean `name` in `*value`. -EINVAL if there is no such boolean. */
int sepol_oracle_get_bool(sepol_oracle *o, const char *name, int *value);

/* ---------------------------------------------------------------------------------------------
 * Access decisions
 * ------------------------------------------------------------------------------------------- */

/* Bits of `*reason` (libsepol's SEPOL_COMPUTEAV_*): which stage removed at least one of the
 * class's permissions. */
#define SEPOL_ORACLE_REASON_TE     0x1u /* not every permission was allowed by TE rules */
#define SEPOL_ORACLE_REASON_CONS   0x2u /* a constraint / mlsconstrain removed a TE-allowed perm */
#define SEPOL_ORACLE_REASON_RBAC   0x4u /* process transition/dyntransition removed: no role allow */
#define SEPOL_ORACLE_REASON_BOUNDS 0x8u /* typebounds masked a permission */

/**
 * The access vector for (scon, tcon, tclass), by sepol_compute_av_reason with every permission
 * of the class requested. `allowed`, `auditallow`, `auditdeny` are libsepol's vectors
 * (auditdeny starts all-ones; dontaudit clears bits). `reason` gets SEPOL_ORACLE_REASON_* bits.
 * Any output pointer may be NULL. Contexts are resolved with sepol_context_to_sid (so invalid
 * contexts give -EINVAL); an undefined class gives -EINVAL.
 */
int sepol_oracle_compute_av(sepol_oracle *o, const char *scon, const char *tcon, const char *tclass,
                            uint32_t *allowed, uint32_t *auditallow, uint32_t *auditdeny,
                            uint32_t *reason);

/** Resolves a context string to a SID of this oracle's SID table (sepol_context_to_sid). The
 *  SID is valid for this oracle until it is closed. -EINVAL if the context is invalid. */
int sepol_oracle_context_to_sid(sepol_oracle *o, const char *con, uint32_t *sid);

/** The context string of `sid` (sepol_sid_to_context) into `out` (`outlen` bytes, NUL
 *  included). Initial SIDs 1...n are available from open. -EINVAL for an unknown SID. */
int sepol_oracle_sid_to_context(sepol_oracle *o, uint32_t sid, char *out, size_t outlen);

/** The policy value of class `tclass` (1-based). -EINVAL if the class is not defined. */
int sepol_oracle_class_value(sepol_oracle *o, const char *tclass, uint16_t *value);

/** The access vector for two resolved SIDs and a class value (sepol_compute_av, every
 *  permission requested), for benchmarks of the pure computation. */
int sepol_oracle_compute_av_sids(sepol_oracle *o, uint32_t ssid, uint32_t tsid, uint16_t tclass,
                                 uint32_t *allowed, uint32_t *auditallow, uint32_t *auditdeny);

/** Number of permissions of class `tclass` (common ones included), or a negative errno. */
int sepol_oracle_perm_count(sepol_oracle *o, const char *tclass);

/** The name of permission bit `bit` (value bit + 1) of class `tclass`, or NULL. */
const char *sepol_oracle_perm_name(sepol_oracle *o, const char *tclass, unsigned bit);

/** The bit mask of permission `perm` of class `tclass` in `*mask`; -EINVAL if unknown. */
int sepol_oracle_perm_mask(sepol_oracle *o, const char *tclass, const char *perm, uint32_t *mask);

/**
 * The constraints libsepol evaluated for (scon, tcon, tclass), in infix form with each
 * sub-expression's result, as sepol_compute_av_reason_buffer writes it (all of them when
 * `show_granted` is non-zero, otherwise only the denying ones). For diagnosing mismatches.
 * "" when no constraint applies. -ERANGE if `out` is too small (it then holds a truncated text).
 */
int sepol_oracle_explain_constraints(sepol_oracle *o, const char *scon, const char *tcon,
                                     const char *tclass, int show_granted, char *out, size_t outlen);

/* ---------------------------------------------------------------------------------------------
 * Labeling decisions
 * ------------------------------------------------------------------------------------------- */

#define SEPOL_ORACLE_TRANSITION 0 /* sepol_transition_sid: type_transition, role_transition, range_transition */
#define SEPOL_ORACLE_MEMBER     1 /* sepol_member_sid: type_member */
#define SEPOL_ORACLE_CHANGE     2 /* sepol_change_sid: type_change */

/**
 * The context of a new process or object (kernel's security_transition_sid / member_sid /
 * change_sid as libsepol implements them) written into `out` (`outlen` bytes).
 * -EACCES if the computed context is invalid (libsepol always behaves as if enforcing).
 * `objname` must be NULL: libsepol 3.4 does not implement filename transitions
 * (`type_transition s t:c new "name";`), so a non-NULL name gives -EOPNOTSUPP rather than an
 * answer that silently ignores the name. Note also that libsepol does not treat socket classes
 * like the kernel does (see README).
 */
int sepol_oracle_compute_sid(sepol_oracle *o, int kind, const char *scon, const char *tcon,
                             const char *tclass, const char *objname, char *out, size_t outlen);

/**
 * validatetrans / mlsvalidatetrans of class `tclass` for a relabel from `oldcon` to `newcon` by
 * a task in `taskcon` (sepol_validate_transition_reason_buffer; the kernel's
 * security_validate_transition_user). 0 if allowed, -EPERM if a constraint denies it.
 */
int sepol_oracle_validate_transition(sepol_oracle *o, const char *oldcon, const char *newcon,
                                     const char *taskcon, const char *tclass);

/** 1 if `con` is a valid context under the policy (sepol_context_to_sid succeeds), else 0. */
int sepol_oracle_context_valid(sepol_oracle *o, const char *con);

/** 1 if type `type` is declared permissive, 0 if not, -EINVAL if there is no such type.
 *  (libsepol's av decisions do not report permissive domains; this reads the policy's
 *  permissive map, the bit the kernel turns into AVD_FLAGS_PERMISSIVE.) */
int sepol_oracle_type_is_permissive(sepol_oracle *o, const char *type);

/* ---------------------------------------------------------------------------------------------
 * Enumeration (for generating test cases)
 * ------------------------------------------------------------------------------------------- */

#define SEPOL_ORACLE_SYM_TYPE        0 /* types, not attributes, not aliases */
#define SEPOL_ORACLE_SYM_ATTRIBUTE   1
#define SEPOL_ORACLE_SYM_ROLE        2 /* includes object_r */
#define SEPOL_ORACLE_SYM_USER        3
#define SEPOL_ORACLE_SYM_CLASS       4
#define SEPOL_ORACLE_SYM_BOOL        5
#define SEPOL_ORACLE_SYM_SENSITIVITY 6 /* in dominance order, aliases excluded */
#define SEPOL_ORACLE_SYM_CATEGORY    7 /* in declaration order, aliases excluded */

/** Number of symbols of `kind` (SEPOL_ORACLE_SYM_*), or a negative errno for a bad kind. */
int sepol_oracle_symbol_count(sepol_oracle *o, int kind);

/** Name of the `index`-th symbol (0-based, in policy value order), or NULL. */
const char *sepol_oracle_symbol_name(sepol_oracle *o, int kind, unsigned index);

/**
 * Set-valued relations. Each writes at most `cap` names into `names` (which may be NULL when
 * `cap` is 0), puts the full count in `*count`, and returns 0 (-EINVAL if the first name is
 * not defined). Call once with cap 0 to size the array.
 *  - role_types:      the types a role is authorized for (attributes expanded), value order;
 *  - user_roles:      the roles a user is authorized for, value order (object_r is normally
 *                     not listed: every context may use it);
 *  - attribute_types: the types that have attribute `attr`, value order.
 */
int sepol_oracle_role_types(sepol_oracle *o, const char *role, const char **names, size_t cap, size_t *count);
int sepol_oracle_user_roles(sepol_oracle *o, const char *user, const char **names, size_t cap, size_t *count);
int sepol_oracle_attribute_types(sepol_oracle *o, const char *attr, const char **names, size_t cap, size_t *count);

/** An MLS user's authorized range ("s0-s1:c0.c3") and default level ("s0"), formatted by
 *  libsepol. -EOPNOTSUPP for a non-MLS policy; either output may be NULL. */
int sepol_oracle_user_range(sepol_oracle *o, const char *user, char *range, size_t rangelen,
                            char *default_level, size_t levellen);

#ifdef __cplusplus
}
#endif

#endif /* SEPOL_ORACLE_H */
