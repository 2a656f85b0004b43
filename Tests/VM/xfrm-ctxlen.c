/* xfrm-ctxlen: dump the kernel's SAs and SPD entries over NETLINK_XFRM and print, for each one that
 * carries XFRMA_SEC_CTX, the raw fields of struct xfrm_user_sec_ctx and how many NUL bytes the
 * context ends with. iproute2 prints contexts with "%s" (up to the first NUL), so it cannot show the
 * stored ctx_len; this is the guest's independent reader of it (Specs/kernel/labeled-ipsec.md §d.1, edge 7).
 *
 *   xfrm-ctxlen            one line per labeled object:
 *   sa spi=0x00001000 len=42 alg=1 doi=1 ctx_len=34 trailing_nuls=2 ctx=system_u:object_r:ipsec_spd_t:s0
 *   policy dir=0 index=8 len=42 alg=1 doi=1 ctx_len=34 trailing_nuls=2 ctx=system_u:object_r:ipsec_spd_t:s0
 *
 *   xfrm-ctxlen migrate SRC DST
 *                          sends one XFRM_MSG_MIGRATE, written here from the UAPI header alone (an encoder
 *                          independent of salabel's): the out SPD entry with selector SRC/32 -> DST/32 (any
 *                          protocol), its transport ESP SA from SRC to DST moved to the same endpoints, any
 *                          reqid. Prints "migrate errno=N" (0: acknowledged). Each migration clones the SA
 *                          and allocates its label again from the stored context (edge 36).
 *
 * Built by Tests/VMHarness/GuestSalabel.swift (cc -O2) and passed into the guest with --file.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/xfrm.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void print_ctx(const char *what, const struct rtattr *a) {
    const struct xfrm_user_sec_ctx *c = RTA_DATA(a);
    if (RTA_PAYLOAD(a) < sizeof(*c)) { printf("%s truncated-attribute\n", what); return; }
    const unsigned char *s = (const unsigned char *)(c + 1);
    unsigned avail = RTA_PAYLOAD(a) - sizeof(*c);
    unsigned n = c->ctx_len <= avail ? c->ctx_len : avail;
    unsigned nuls = 0;
    while (nuls < n && s[n - 1 - nuls] == 0) nuls++;
    printf("%s len=%u alg=%u doi=%u ctx_len=%u trailing_nuls=%u ctx=%.*s\n", what, c->len, c->ctx_alg, c->ctx_doi,
           c->ctx_len, nuls, (int)(n - nuls), (const char *)s);
}

static int dump(int fd, int type) {
    struct { struct nlmsghdr h; char body[256]; } req;
    memset(&req, 0, sizeof(req));
    size_t body = type == XFRM_MSG_GETSA ? sizeof(struct xfrm_usersa_info) : sizeof(struct xfrm_userpolicy_info);
    req.h.nlmsg_len = NLMSG_LENGTH(body);
    req.h.nlmsg_type = type;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.h.nlmsg_seq = (unsigned)type;
    if (send(fd, &req, req.h.nlmsg_len, 0) < 0) { perror("send"); return 1; }
    static char buf[65536];
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof(buf), 0);
        if (r < 0) { perror("recv"); return 1; }
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)r); h = NLMSG_NEXT(h, r)) {
            if (h->nlmsg_type == NLMSG_DONE) return 0;
            if (h->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *e = NLMSG_DATA(h);
                fprintf(stderr, "dump %d: %s\n", type, strerror(-e->error));
                return 1;
            }
            char what[96];
            struct rtattr *a;
            int len;
            if (h->nlmsg_type == XFRM_MSG_NEWSA) {
                struct xfrm_usersa_info *p = NLMSG_DATA(h);
                snprintf(what, sizeof(what), "sa spi=0x%08x", ntohl(p->id.spi));
                a = (struct rtattr *)((char *)p + NLMSG_ALIGN(sizeof(*p)));
                len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*p));
            } else if (h->nlmsg_type == XFRM_MSG_NEWPOLICY) {
                struct xfrm_userpolicy_info *p = NLMSG_DATA(h);
                snprintf(what, sizeof(what), "policy dir=%u index=%u", p->dir, p->index);
                a = (struct rtattr *)((char *)p + NLMSG_ALIGN(sizeof(*p)));
                len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*p));
            } else {
                continue;
            }
            for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
                if (a->rta_type == XFRMA_SEC_CTX) print_ctx(what, a);
        }
    }
}

static int migrate(int fd, const char *src, const char *dst) {
    struct {
        struct nlmsghdr h;
        struct xfrm_userpolicy_id id;
        struct rtattr a;
        struct xfrm_user_migrate m;
    } req;
    memset(&req, 0, sizeof(req));
    struct in_addr s, d;
    if (inet_pton(AF_INET, src, &s) != 1 || inet_pton(AF_INET, dst, &d) != 1) { fprintf(stderr, "migrate: bad address\n"); return 1; }
    req.h.nlmsg_len = sizeof(req);
    req.h.nlmsg_type = XFRM_MSG_MIGRATE;
    req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    req.h.nlmsg_seq = 1;
    memcpy(&req.id.sel.saddr, &s, sizeof(s));
    memcpy(&req.id.sel.daddr, &d, sizeof(d));
    req.id.sel.family = AF_INET;
    req.id.sel.prefixlen_s = 32;
    req.id.sel.prefixlen_d = 32;
    req.id.dir = XFRM_POLICY_OUT;
    req.a.rta_type = XFRMA_MIGRATE;
    req.a.rta_len = RTA_LENGTH(sizeof(req.m));
    memcpy(&req.m.old_saddr, &s, sizeof(s));
    memcpy(&req.m.old_daddr, &d, sizeof(d));
    memcpy(&req.m.new_saddr, &s, sizeof(s));
    memcpy(&req.m.new_daddr, &d, sizeof(d));
    req.m.proto = IPPROTO_ESP;
    req.m.mode = XFRM_MODE_TRANSPORT;
    req.m.old_family = AF_INET;
    req.m.new_family = AF_INET;
    if (send(fd, &req, sizeof(req), 0) < 0) { perror("send"); return 1; }
    char buf[4096];
    ssize_t r = recv(fd, buf, sizeof(buf), 0);
    if (r < 0) { perror("recv"); return 1; }
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    if (!NLMSG_OK(h, (unsigned)r) || h->nlmsg_type != NLMSG_ERROR) { fprintf(stderr, "migrate: no ACK\n"); return 1; }
    printf("migrate errno=%d\n", -((struct nlmsgerr *)NLMSG_DATA(h))->error);
    return 0;
}

int main(int argc, char **argv) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_XFRM);
    if (fd < 0) { perror("socket(NETLINK_XFRM)"); return 1; }
    if (argc == 4 && strcmp(argv[1], "migrate") == 0) {
        int rc = migrate(fd, argv[2], argv[3]);
        close(fd);
        return rc;
    }
    int rc = dump(fd, XFRM_MSG_GETSA);
    rc |= dump(fd, XFRM_MSG_GETPOLICY);
    close(fd);
    return rc;
}
