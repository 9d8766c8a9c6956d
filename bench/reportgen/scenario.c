/*
 * scenario.c - the traffic model: which sources send how much mail for
 * which policy domain, and what a receiver's DMARC evaluation makes of it.
 *
 * Every domain has five kinds of senders (model.h enum src_kind) in its own
 * mix. Daily volume follows weekday/weekend, slow growth, noise, and rare
 * spoofing bursts; the day-level numbers come from a stream shared by all
 * reporters so that Google and Outlook see the same busy days. Results are
 * set the way the mail would really authenticate, and policy_evaluated is
 * then computed from them (alignment, p/sp/np, pct, overrides) rather than
 * hard-coded, so the reports stay self-consistent.
 *
 * All names are fictional (.example, example.com/net/org) and every address
 * is in a documentation range: 192.0.2.0/24, 198.51.100.0/24,
 * 203.0.113.0/24 (RFC 5737) and 2001:db8::/32 (RFC 3849).
 */
#include <string.h>

#include "model.h"
#include "util.h"
#include "lib/banned.h"

struct domain {
    const char *name;
    const char *selector; /* DKIM selector of the domain's own servers */
    const char *sub;      /* a subdomain used in header_from, or NULL */
    const char *p, *sp, *np;
    const char *p_before; /* policy before the halfway switch, or NULL */
    const char *adkim, *aspf, *fo;
    unsigned pct;
    double base;    /* messages per day to all receivers, at day 0 */
    double growth;  /* relative growth over the whole period */
    double weekend; /* Saturday/Sunday factor */
    int peak_dow;   /* weekly campaign day (0 = Sunday), -1: none */
    double mix[SRC_NKINDS];
    double reach_de, reach_ru; /* audience at German / Russian mailbox providers */
    unsigned esp;              /* index into esps[] */
    unsigned net;              /* own address block */
    unsigned n_own;
};

static const struct domain domains[] = {
    {.name = "example.com",
     .selector = "mx2026",
     .sub = "billing",
     .p = "reject",
     .sp = "reject",
     .np = "reject",
     .adkim = "r",
     .aspf = "r",
     .fo = "1",
     .pct = 100,
     .base = 16000,
     .growth = 0.25,
     .weekend = 0.45,
     .peak_dow = -1,
     .mix = {0.47, 0.33, 0.07, 0.03, 0.10},
     .reach_de = 1.0,
     .reach_ru = 1.0,
     .esp = 0,
     .net = 0,
     .n_own = 4},
    {.name = "shop.example.net",
     .selector = "k1",
     .sub = "orders",
     .p = "quarantine",
     .sp = "quarantine",
     .np = "reject",
     .adkim = "r",
     .aspf = "r",
     .fo = "0",
     .pct = 100,
     .base = 4500,
     .growth = 0.60,
     .weekend = 0.90,
     .peak_dow = -1,
     .mix = {0.25, 0.55, 0.04, 0.06, 0.10},
     .reach_de = 0.6,
     .reach_ru = 0.3,
     .esp = 1,
     .net = 1,
     .n_own = 2},
    /* Migrating: p=none for the first half of the period, then quarantine. */
    {.name = "acme-widgets.example",
     .selector = "default",
     .p_before = "none",
     .p = "quarantine",
     .sp = "quarantine",
     .adkim = "r",
     .aspf = "r",
     .pct = 100,
     .base = 900,
     .growth = 0.10,
     .weekend = 0.30,
     .peak_dow = -1,
     .mix = {0.52, 0.20, 0.10, 0.10, 0.08},
     .reach_de = 2.5,
     .reach_ru = 0.5,
     .esp = 0,
     .net = 2,
     .n_own = 2},
    /* A weekly newsletter, sent on Tuesdays. */
    {.name = "newsletter.example.org",
     .selector = "news",
     .p = "none",
     .sp = "none",
     .adkim = "r",
     .aspf = "r",
     .pct = 100,
     .base = 70,
     .growth = 0.15,
     .weekend = 0.20,
     .peak_dow = 2,
     .mix = {0.15, 0.70, 0.06, 0.04, 0.05},
     .reach_de = 0.3,
     .reach_ru = 0.05,
     .esp = 1,
     .net = 3,
     .n_own = 1},
    /* Ramping up enforcement with pct=50. */
    {.name = "brightlane.example",
     .selector = "bl1",
     .sub = "support",
     .p = "quarantine",
     .sp = "quarantine",
     .adkim = "r",
     .aspf = "r",
     .fo = "0",
     .pct = 50,
     .base = 350,
     .growth = 0.30,
     .weekend = 0.50,
     .peak_dow = -1,
     .mix = {0.60, 0.15, 0.08, 0.07, 0.10},
     .reach_de = 1.0,
     .reach_ru = 0.5,
     .esp = 0,
     .net = 4,
     .n_own = 2},
    /* Strict DKIM alignment: subdomain mail passes through SPF only. */
    {.name = "nordwind-travel.example",
     .selector = "nw",
     .sub = "booking",
     .p = "reject",
     .sp = "none",
     .np = "reject",
     .adkim = "s",
     .aspf = "r",
     .fo = "0",
     .pct = 100,
     .base = 2200,
     .growth = 0.05,
     .weekend = 1.10,
     .peak_dow = -1,
     .mix = {0.40, 0.40, 0.06, 0.02, 0.12},
     .reach_de = 3.0,
     .reach_ru = 0.4,
     .esp = 1,
     .net = 5,
     .n_own = 3},
    {.name = "kitchen-co.example",
     .selector = "kc",
     .p = "none",
     .sp = "none",
     .adkim = "r",
     .aspf = "r",
     .pct = 100,
     .base = 140,
     .growth = 0.40,
     .weekend = 0.60,
     .peak_dow = -1,
     .mix = {0.50, 0.30, 0.05, 0.05, 0.10},
     .reach_de = 0.5,
     .reach_ru = 0.2,
     .esp = 0,
     .net = 6,
     .n_own = 1},
    {.name = "tiny-club.example.org",
     .selector = "club",
     .p = "none",
     .sp = "none",
     .adkim = "r",
     .aspf = "r",
     .pct = 100,
     .base = 12,
     .growth = 0.0,
     .weekend = 0.80,
     .peak_dow = -1,
     .mix = {0.70, 0.00, 0.20, 0.00, 0.10},
     .reach_de = 0.2,
     .reach_ru = 0.0,
     .esp = 0,
     .net = 7,
     .n_own = 1},
};

const size_t n_domains = RG_ARRAY_LEN(domains);

/* ESPs that sign with the customer's domain (aligned DKIM). */
struct esp {
    const char *name;
    const char *own_selector; /* second signature with the ESP's own domain */
    const char *dom_selector; /* selector under the customer's domain */
    const char *bounce;       /* NULL: custom return path em<N>.<domain> */
    unsigned first, n;        /* 198.51.100.first .. first+n-1 */
};

static const struct esp esps[] = {
    {"mailcannon.example", "smtpapi", "s1", NULL, 16, 16},
    {"chimpmail.example", "k1", "k2", "mcsv.chimpmail.example", 64, 24},
};

struct gen {
    const struct domain *d;
    const struct reporter *rep;
    const struct policy *pol;
    struct rng *r;
};

void scenario_policy(size_t idx, unsigned day, unsigned ndays, struct policy *pol)
{
    const struct domain *d = &domains[idx];
    int before = d->p_before && day < ndays / 2;

    pol->domain = d->name;
    pol->adkim = d->adkim;
    pol->aspf = d->aspf;
    pol->p = before ? d->p_before : d->p;
    pol->sp = before ? d->p_before : d->sp;
    pol->np = d->np;
    pol->fo = d->fo;
    pol->pct = d->pct;
}

static struct rec *new_rec(struct rec *recs, size_t *n, size_t max, enum src_kind kind)
{
    struct rec *rec;

    if (*n >= max)
        return NULL;
    rec = &recs[(*n)++];
    memset(rec, 0, sizeof(*rec));
    rec->kind = kind;
    return rec;
}

static void add_dkim(struct rec *rec, const char *domain, const char *selector, const char *result,
                     const char *human)
{
    struct dkim_res *k;

    if (rec->ndkim >= REC_MAX_DKIM)
        return;
    k = &rec->dkim[rec->ndkim++];
    rg_fmt(k->domain, sizeof(k->domain), "%s", domain);
    rg_fmt(k->selector, sizeof(k->selector), "%s", selector);
    k->result = result;
    k->human = human;
}

static void add_spf(struct rec *rec, const char *domain, const char *scope, const char *result)
{
    struct spf_res *s;

    if (rec->nspf >= REC_MAX_SPF)
        return;
    s = &rec->spf[rec->nspf++];
    rg_fmt(s->domain, sizeof(s->domain), "%s", domain);
    s->scope = scope;
    s->result = result;
}

static void pick_envelope_to(struct gen *g, struct rec *rec)
{
    if (g->rep->envelope_to)
        rec->envelope_to = rng_pick(g->r, g->rep->envelope_to, g->rep->n_envelope_to);
}

/* Slots 0..n_own-1 are the servers; slot n_own is server 0 sending as d->sub. */
static void fill_own(struct gen *g, struct rec *rec, unsigned slot)
{
    const struct domain *d = g->d;
    unsigned n_v4 = d->n_own > 1 ? d->n_own - 1 : 1;
    int sub = d->sub && slot >= d->n_own;

    if (sub)
        slot = 0;
    if (slot < n_v4)
        rg_fmt(rec->ip, sizeof(rec->ip), "203.0.113.%u", 10 + d->net * 6 + slot);
    else
        rg_fmt(rec->ip, sizeof(rec->ip), "2001:db8:%x::25", d->net + 1);
    if (sub)
        rg_fmt(rec->header_from, sizeof(rec->header_from), "%s.%s", d->sub, d->name);
    else
        rg_fmt(rec->header_from, sizeof(rec->header_from), "%s", d->name);
    rg_fmt(rec->envelope_from, sizeof(rec->envelope_from), "%s", rec->header_from);
    if (rng_chance(g->r, 0.03))
        add_dkim(rec, d->name, d->selector, "fail", "body hash did not verify");
    else
        add_dkim(rec, d->name, d->selector, "pass", NULL);
    add_spf(rec, rec->envelope_from, "mfrom", "pass");
}

/* A stable four-digit return-path label per domain, like em4821.<domain>. */
static unsigned name_hash(const char *s)
{
    unsigned h = 2166136261u;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return 1000 + h % 9000;
}

static void fill_esp(struct gen *g, struct rec *rec, unsigned slot)
{
    const struct domain *d = g->d;
    const struct esp *e = &esps[d->esp];

    rg_fmt(rec->ip, sizeof(rec->ip), "198.51.100.%u", e->first + slot % e->n);
    rg_fmt(rec->header_from, sizeof(rec->header_from), "%s", d->name);
    if (e->bounce)
        rg_fmt(rec->envelope_from, sizeof(rec->envelope_from), "%s", e->bounce);
    else
        rg_fmt(rec->envelope_from, sizeof(rec->envelope_from), "em%u.%s", name_hash(d->name),
               d->name);
    add_dkim(rec, d->name, e->dom_selector, "pass", NULL);
    add_dkim(rec, e->name, e->own_selector, "pass", NULL);
    add_spf(rec, rec->envelope_from, "mfrom", "pass");
}

/* Mailing list, plain forwarder, SRS forwarder: slot % 3 picks which. */
static void fill_fwd(struct gen *g, struct rec *rec, unsigned slot)
{
    const struct domain *d = g->d;
    int broken = rng_chance(g->r, 0.35);

    rg_fmt(rec->header_from, sizeof(rec->header_from), "%s", d->name);
    switch (slot % 3) {
    case 0:
        rg_fmt(rec->ip, sizeof(rec->ip), "198.51.100.%u", 200 + slot % 4);
        rg_fmt(rec->envelope_from, sizeof(rec->envelope_from), "lists.listserv.example");
        add_dkim(rec, d->name, d->selector, broken ? "fail" : "pass",
                 broken ? "body hash did not verify" : NULL);
        add_dkim(rec, "listserv.example", "lists", "pass", NULL);
        add_spf(rec, rec->envelope_from, "mfrom", "pass");
        break;
    case 1:
        if (slot % 2)
            rg_fmt(rec->ip, sizeof(rec->ip), "2001:db8:f0::%x", 0x10 + slot % 5);
        else
            rg_fmt(rec->ip, sizeof(rec->ip), "198.51.100.%u", 210 + slot % 5);
        rg_fmt(rec->envelope_from, sizeof(rec->envelope_from), "%s", d->name);
        add_dkim(rec, d->name, d->selector, broken && slot % 2 ? "fail" : "pass", NULL);
        add_spf(rec, d->name, "mfrom", rng_chance(g->r, 0.5) ? "softfail" : "fail");
        break;
    default:
        rg_fmt(rec->ip, sizeof(rec->ip), "203.0.113.%u", 200 + slot % 4);
        rg_fmt(rec->envelope_from, sizeof(rec->envelope_from), "alumni.university.example");
        add_dkim(rec, d->name, d->selector, "pass", NULL);
        add_spf(rec, rec->envelope_from, "mfrom", "pass");
        break;
    }
}

static void fill_misconf(struct gen *g, struct rec *rec, unsigned slot)
{
    rg_fmt(rec->ip, sizeof(rec->ip), "192.0.2.%u", 16 + slot % 16);
    rg_fmt(rec->header_from, sizeof(rec->header_from), "%s", g->d->name);
    rg_fmt(rec->envelope_from, sizeof(rec->envelope_from), "bounces.bulkblast.example");
    add_dkim(rec, "bulkblast.example", "bb2024", "pass", NULL);
    add_spf(rec, rec->envelope_from, "mfrom", "pass");
}

static const char *const spoof_subs[] = {"secure-login", "billing-update", "account",
                                         "mail",         "support-desk",   "invoice"};
static const char *const spoof_domains[] = {"bulk-offers.example", "cheap-pills.example",
                                            "randomhost.example", "dyn-pool.isp.example"};

/*
 * Random 16-bit groups, drawn one per statement: several rng calls in one
 * argument list would be evaluated in a compiler-specific order, and gcc and
 * clang builds would then write different reports for the same seed.
 */
static void draw_groups(struct rng *r, unsigned *g, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        g[i] = (unsigned)rng_below(r, 0x10000);
    g[n - 1] |= 1; /* never end in ::0 */
}

static void spoof_ip(struct rng *r, char *ip, size_t size)
{
    uint64_t x = rng_below(r, 10);
    unsigned g[2];

    if (x < 4) {
        rg_fmt(ip, size, "192.0.2.%u", (unsigned)rng_range(r, 64, 254));
    } else if (x < 7) {
        rg_fmt(ip, size, "203.0.113.%u", (unsigned)rng_range(r, 64, 199));
    } else {
        draw_groups(r, g, 2);
        rg_fmt(ip, size, "2001:db8:bad:%x::%x", g[0], g[1]);
    }
}

static void fill_spoof(struct gen *g, struct rec *rec)
{
    const struct domain *d = g->d;
    const char *other = rng_pick(g->r, spoof_domains, RG_ARRAY_LEN(spoof_domains));
    uint64_t env = rng_below(g->r, 20);
    uint64_t sig = rng_below(g->r, 20);

    spoof_ip(g->r, rec->ip, sizeof(rec->ip));
    if (rng_chance(g->r, 0.2)) {
        rg_fmt(rec->header_from, sizeof(rec->header_from), "%s.%s",
               rng_pick(g->r, spoof_subs, RG_ARRAY_LEN(spoof_subs)), d->name);
        rec->nxdomain = 1;
    } else {
        rg_fmt(rec->header_from, sizeof(rec->header_from), "%s", d->name);
    }
    if (env < 10) {
        rg_fmt(rec->envelope_from, sizeof(rec->envelope_from), "%s", d->name);
        add_spf(rec, d->name, "mfrom", env < 6 ? "fail" : "softfail");
    } else if (env < 17) {
        rg_fmt(rec->envelope_from, sizeof(rec->envelope_from), "%s", other);
        add_spf(rec, other, "mfrom", env < 14 ? "none" : "neutral");
    } else {
        /* Null reverse-path: only the HELO name could be checked. */
        rec->envelope_from[0] = '\0';
        add_spf(rec, other, "helo", "none");
    }
    if (sig >= 15)
        add_dkim(rec, d->name, "s1024", "fail", "signature verification failed");
    else if (sig >= 10)
        add_dkim(rec, other, "default", "pass", NULL);
}

/* Splits `total` into up to n parts with random weights; no part is 0. */
static unsigned split(struct rng *r, uint64_t total, unsigned n, uint64_t *parts)
{
    double w[64], sum = 0.0;
    unsigned k = 0;

    if (n > total)
        n = (unsigned)total;
    if (n > RG_ARRAY_LEN(w))
        n = RG_ARRAY_LEN(w);
    for (unsigned i = 0; i < n; i++) {
        w[i] = 0.3 + rng_unit(r) * (i == 0 ? 3.0 : 1.0);
        sum += w[i];
    }
    for (unsigned i = 0; i < n && total > 0; i++) {
        uint64_t c = i + 1 == n ? total : rng_round(r, (double)total * w[i] / sum);

        sum -= w[i];
        if (c > total)
            c = total;
        if (c)
            parts[k++] = c;
        total -= c;
    }
    return k;
}

static const char *reason_for_forward(struct gen *g, const struct rec *rec, const char **comment)
{
    int list = strcmp(rec->envelope_from, "lists.listserv.example") == 0;

    *comment = NULL;
    switch (g->rep->fl) {
    case FL_GOOGLE:
        *comment = "arc=pass";
        return "local_policy";
    case FL_DMARC2:
        return list ? "mailing_list" : "trusted_forwarder";
    case FL_GENERIC:
        *comment = list ? "mailing list <lists.listserv.example> re-signed; ARC chain "
                          "validated & trusted"
                        : "known forwarder: \"alumni.university.example\" rewrote the "
                          "envelope (SRS)";
        return list ? "mailing_list" : "forwarded";
    default:
        return list ? "mailing_list" : "forwarded";
    }
}

/* Fictional names only: the organizational domain is the last two labels. */
static const char *org_domain(const char *name)
{
    const char *p = name + strlen(name);
    int dots = 0;

    while (p > name) {
        if (p[-1] == '.' && ++dots == 2)
            break;
        p--;
    }
    return p;
}

static int aligned(const char *id, const char *from, const char *mode)
{
    if (mode && mode[0] == 's')
        return strcmp(id, from) == 0;
    return strcmp(org_domain(id), org_domain(from)) == 0;
}

static void evaluate(struct gen *g, struct rec *rec)
{
    const struct policy *pol = g->pol;
    int dkim_ok = 0, spf_ok = 0;
    const char *want;

    for (unsigned i = 0; i < rec->ndkim; i++)
        dkim_ok |= strcmp(rec->dkim[i].result, "pass") == 0 &&
                   aligned(rec->dkim[i].domain, rec->header_from, pol->adkim);
    for (unsigned i = 0; i < rec->nspf; i++)
        spf_ok |= strcmp(rec->spf[i].scope, "mfrom") == 0 &&
                  strcmp(rec->spf[i].result, "pass") == 0 &&
                  aligned(rec->spf[i].domain, rec->header_from, pol->aspf);
    rec->pe_dkim = dkim_ok ? "pass" : "fail";
    rec->pe_spf = spf_ok ? "pass" : "fail";
    rec->disposition = "none";
    rec->reason = rec->reason_comment = NULL;
    if (dkim_ok || spf_ok)
        return;
    if (strcmp(rec->header_from, pol->domain) == 0)
        want = pol->p;
    else
        want = rec->nxdomain && pol->np ? pol->np : pol->sp ? pol->sp : pol->p;
    rec->disposition = want;
    if (strcmp(want, "none") == 0)
        return;
    if (g->rep->fl != FL_DMARC2 && pol->pct < 100 && rng_below(g->r, 100) >= pol->pct) {
        /* RFC 7489 sampling: the next weaker policy is applied. */
        rec->disposition = strcmp(want, "reject") == 0 ? "quarantine" : "none";
        rec->reason = "sampled_out";
    } else if (rec->kind == SRC_FWD && rng_chance(g->r, 0.6)) {
        rec->disposition = "none";
        rec->reason = reason_for_forward(g, rec, &rec->reason_comment);
    } else if (rng_chance(g->r, 0.02)) {
        rec->disposition = "none";
        rec->reason = "local_policy";
    }
}

/* Messages of one kind for one day, spread over a few sending IPs. */
static void gen_kind(struct gen *g, enum src_kind kind, uint64_t msgs, struct rec *recs, size_t *n,
                     size_t max)
{
    static const unsigned max_slots[SRC_NKINDS] = {0, 16, 6, 4, 48};
    static const unsigned per_slot[SRC_NKINDS] = {1, 400, 40, 100, 3};
    uint64_t parts[64];
    unsigned slots =
        kind == SRC_OWN ? g->d->n_own + (g->d->sub ? 1 : 0) : 1 + (unsigned)(msgs / per_slot[kind]);
    unsigned start = (unsigned)rng_below(g->r, 64);

    if (kind != SRC_OWN && slots > max_slots[kind])
        slots = max_slots[kind];
    slots = split(g->r, msgs, slots, parts);
    for (unsigned i = 0; i < slots; i++) {
        struct rec *rec = new_rec(recs, n, max, kind);

        if (!rec)
            return;
        switch (kind) {
        case SRC_OWN:
            fill_own(g, rec, i);
            break;
        case SRC_ESP:
            fill_esp(g, rec, start + i * 3);
            break;
        case SRC_FWD:
            fill_fwd(g, rec, start + i);
            break;
        case SRC_MISCONF:
            fill_misconf(g, rec, start + i);
            break;
        default:
            fill_spoof(g, rec);
            break;
        }
        rec->count = parts[i];
        pick_envelope_to(g, rec);
        evaluate(g, rec);
    }
}

/* Mail to all receivers on this day; shared by every reporter. */
static double day_volume(const struct domain *d, const struct day_ctx *ctx, struct rng *day)
{
    int64_t days = ctx->day_begin / 86400;
    int dow = (int)((days + 4) % 7); /* 1970-01-01 was a Thursday */
    double v = d->base * (1.0 + d->growth * ctx->day / (ctx->ndays ? ctx->ndays : 1));

    if (d->peak_dow >= 0)
        v *= dow == d->peak_dow ? 3.5 : 0.15;
    else if (dow == 0 || dow == 6)
        v *= d->weekend;
    v *= 1.0 + 0.12 * rng_gauss(day);
    return v > 0.0 ? v : 0.0;
}

size_t scenario_day(const struct day_ctx *ctx, const struct policy *pol, struct rec *recs,
                    size_t max)
{
    const struct domain *d = &domains[ctx->dom];
    struct rng day, r;
    struct gen g = {d, &reporters[ctx->rep], pol, &r};
    double total, mine, burst;
    size_t n = 0;

    rng_derive(&day, ctx->seed, 1, ctx->dom, ctx->day, 0);
    rng_derive(&r, ctx->seed, 2, ctx->dom, ctx->day, ctx->rep + 1);
    total = day_volume(d, ctx, &day);
    burst = rng_chance(&day, 0.07) ? 4.0 + 12.0 * rng_unit(&day) : 1.0;
    mine = total * g.rep->share * (1.0 + 0.08 * rng_gauss(&r));
    if (g.rep->region == REGION_DE)
        mine *= d->reach_de;
    else if (g.rep->region == REGION_RU)
        mine *= d->reach_ru;
    for (int k = 0; k < SRC_NKINDS; k++) {
        double expect = mine * d->mix[k] * (k == SRC_SPOOF ? burst : 1.0);
        uint64_t msgs = rng_round(&r, expect * (1.0 + 0.15 * rng_gauss(&r)));

        if (msgs)
            gen_kind(&g, (enum src_kind)k, msgs, recs, &n, max);
    }
    return n;
}

/* --- the big benchmark report ------------------------------------------ */

struct human {
    const char *result, *text;
};

static const struct human dkim_humans[] = {
    {"pass", "pass (signature verified; rsa-sha256, 2048-bit key)"},
    {"pass", "pass (ed25519-sha256 signature verified, key from DNS)"},
    {"fail", "fail (body hash did not verify; altered by a mailing list footer?)"},
    {"fail", "fail (signature expired: x= tag in the past)"},
    {"neutral", "neutral (l= tag present: unsigned content appended to the body)"},
    {"temperror", "temperror (DNS timeout fetching the public key)"},
    {"permerror", "permerror (key record syntax error: p= tag missing)"},
    {"policy", "policy (rsa-sha1 signatures rejected by local policy)"},
};

static const char *const big_subs[] = {"",    "mail.",    "news.",      "billing.", "support.",
                                       "hr.", "noreply.", "marketing.", "eu.",      "us."};
static const char *const third_party[] = {"mailcannon.example", "chimpmail.example",
                                          "crm-cloud.example",  "ticketdesk.example",
                                          "listserv.example",   "relay.gateway.example"};

static void big_ip(struct rng *r, char *ip, size_t size)
{
    static const char *const v4[] = {"192.0.2", "198.51.100", "203.0.113"};
    uint64_t x = rng_below(r, 100);
    unsigned g[6];

    if (x < 55) {
        const char *net = v4[rng_below(r, 3)];

        rg_fmt(ip, size, "%s.%u", net, (unsigned)rng_range(r, 1, 254));
    } else if (x < 85) {
        draw_groups(r, g, 3);
        rg_fmt(ip, size, "2001:db8:%x:%x::%x", g[0], g[1], g[2]);
    } else {
        draw_groups(r, g, 6);
        rg_fmt(ip, size, "2001:db8:%x:%x:%x:%x:%x:%x", g[0], g[1], g[2], g[3], g[4], g[5]);
    }
}

static uint64_t big_count(struct rng *r)
{
    uint64_t x = rng_below(r, 1000);

    if (x < 700)
        return 1;
    if (x < 900)
        return rng_range(r, 2, 10);
    if (x < 990)
        return rng_range(r, 11, 500);
    return rng_range(r, 501, 5000);
}

/* Extra signatures, human_result texts, a HELO check: what big reporters add. */
static void enrich(struct rng *r, struct rec *rec)
{
    uint64_t x = rng_below(r, 100);
    unsigned want = x < 52 ? 1 : x < 88 ? 2 : x < 98 ? 3 : 4;
    char helo[REC_NAME_MAX];

    while (rec->ndkim < want) {
        const struct human *h = &dkim_humans[rng_below(r, RG_ARRAY_LEN(dkim_humans))];
        const char *dom = rng_pick(r, third_party, RG_ARRAY_LEN(third_party));
        char sel[24];

        rg_fmt(sel, sizeof(sel), "s%u", (unsigned)rng_range(r, 1, 2048));
        add_dkim(rec, dom, sel, h->result, rng_chance(r, 0.35) ? h->text : NULL);
    }
    for (unsigned i = 0; i < rec->ndkim; i++) {
        if (rec->dkim[i].human || !rng_chance(r, 0.35))
            continue;
        for (size_t j = 0; !rec->dkim[i].human && j < RG_ARRAY_LEN(dkim_humans); j++)
            if (strcmp(dkim_humans[j].result, rec->dkim[i].result) == 0)
                rec->dkim[i].human = dkim_humans[j].text;
    }
    if (rec->nspf < REC_MAX_SPF && rng_chance(r, 0.2)) {
        unsigned host = (unsigned)rng_range(r, 1, 99);

        rg_fmt(helo, sizeof(helo), "mta%u.%s", host,
               rec->envelope_from[0] ? rec->envelope_from : "unknown-host.example");
        add_spf(rec, helo, "helo", rng_chance(r, 0.8) ? "pass" : "none");
    }
}

void scenario_big_record(struct rng *r, const struct policy *pol, struct rec *rec)
{
    static const double cumulative[SRC_NKINDS] = {0.40, 0.65, 0.77, 0.85, 1.00};
    const struct domain *d = &domains[0];
    struct gen g = {d, &big_reporter, pol, r};
    double x = rng_unit(r);
    enum src_kind kind = SRC_SPOOF;

    for (int k = 0; k < SRC_NKINDS; k++) {
        if (x < cumulative[k]) {
            kind = (enum src_kind)k;
            break;
        }
    }
    memset(rec, 0, sizeof(*rec));
    rec->kind = kind;
    switch (kind) {
    case SRC_OWN:
        fill_own(&g, rec, (unsigned)rng_below(r, d->n_own));
        break;
    case SRC_ESP:
        fill_esp(&g, rec, (unsigned)rng_below(r, 64));
        break;
    case SRC_FWD:
        fill_fwd(&g, rec, (unsigned)rng_below(r, 64));
        break;
    case SRC_MISCONF:
        fill_misconf(&g, rec, (unsigned)rng_below(r, 64));
        break;
    default:
        fill_spoof(&g, rec);
        break;
    }
    if (kind != SRC_SPOOF && kind != SRC_MISCONF && strcmp(rec->header_from, d->name) == 0)
        rg_fmt(rec->header_from, sizeof(rec->header_from), "%s%s",
               rng_pick(r, big_subs, RG_ARRAY_LEN(big_subs)), d->name);
    big_ip(r, rec->ip, sizeof(rec->ip));
    rec->count = big_count(r);
    enrich(r, rec);
    pick_envelope_to(&g, rec);
    evaluate(&g, rec);
}
