/* alert-index.c - what an alert is filed under, and the Lua that files it;
 * see alert-index.h and docs/redis.md ("Alert indexes"). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert-index.h"
#include "json-scan.h"
#include "util.h"

/* ------------------------------------------------------------------ Lua */

/* Shared by every script that files or unfiles alerts. An index list holds
 * encoded ids (enc/dec: see alert-index.h); "older" is stream order. A
 * signature's words are its maximal runs of ASCII letters and digits,
 * lowercased (Lua's %w in the C locale Redis runs in); the console splits
 * a text query by the same rule (console-query.c). The msg hash keeps each
 * (severity, signature) a sid was seen with, NUL-separated, so that words
 * can be taken out again when the sid's last alert leaves. A group's value
 * is "<count> <first usec>[ <last usec>]" (last left out while equal). */
#define LUA_CODEC \
    "local function idp(id)\n" \
    "  local ms, sq = string.match(id, '^(%d+)-(%d+)$')\n" \
    "  return tonumber(ms), tonumber(sq)\n" \
    "end\n" \
    "local function enc(id)\n" \
    "  local ms, sq = string.match(id, '^(%d+)-(%d+)$')\n" \
    "  if #sq <= 3 then return ms .. string.rep('0', 3 - #sq) .. sq end\n" \
    "  return id\n" \
    "end\n" \
    "local function dec(e)\n" \
    "  if string.find(e, '-', 1, true) then return idp(e) end\n" \
    "  return tonumber(string.sub(e, 1, -4)), tonumber(string.sub(e, -3))\n" \
    "end\n" \
    "local function older(ams, asq, bms, bsq)\n" \
    "  return ams < bms or (ams == bms and asq < bsq)\n" \
    "end\n" \
    ""

#define LUA_LIB LUA_CODEC \
    "local K = { stream = KEYS[1], seq = KEYS[2], meta = KEYS[3], lock = KEYS[4],\n" \
    "  words = KEYS[5], msg = KEYS[6], top = KEYS[7], time = KEYS[8] }\n" \
    "local function words(line, sid, add)\n" \
    "  local text = string.match(line, '^%d+ (.*)$') or ''\n" \
    "  for w in string.gmatch(string.lower(text), '%w+') do\n" \
    "    if add then redis.call('ZADD', K.words, 0, w .. ' ' .. sid)\n" \
    "    else redis.call('ZREM', K.words, w .. ' ' .. sid) end\n" \
    "  end\n" \
    "end\n" \
    "local seen = {}\n" \
    "local function msg_add(sid, line)\n" \
    "  if seen[sid] == line then return end\n" \
    "  seen[sid] = line\n" \
    "  local m = redis.call('HGET', K.msg, sid)\n" \
    "  if m == line then return end\n" \
    "  if m then\n" \
    "    if string.find('\\0' .. m .. '\\0', '\\0' .. line .. '\\0', 1, true) then return end\n" \
    "    redis.call('HSET', K.msg, sid, m .. '\\0' .. line)\n" \
    "  else\n" \
    "    redis.call('HSET', K.msg, sid, line)\n" \
    "  end\n" \
    "  words(line, sid, true)\n" \
    "end\n" \
    "local function msg_drop(sid)\n" \
    "  local m = redis.call('HGET', K.msg, sid)\n" \
    "  if not m then return end\n" \
    "  for line in string.gmatch(m, '[^%z]+') do words(line, sid, false) end\n" \
    "  redis.call('HDEL', K.msg, sid)\n" \
    "end\n" \
    "local newgroups = 0\n" \
    "local function grp_add(key, field, us)\n" \
    "  local v = redis.call('HGET', key, field)\n" \
    "  if not v then\n" \
    "    redis.call('HSET', key, field, '1 ' .. us)\n" \
    "    newgroups = newgroups + 1\n" \
    "    return\n" \
    "  end\n" \
    "  local c, f, l = string.match(v, '^(%d+) (%d*) ?(%d*)$')\n" \
    "  if not c then return end\n" \
    "  if l == '' then l = f end\n" \
    "  if us ~= '' then\n" \
    "    if f == '' or tonumber(us) < tonumber(f) then f = us end\n" \
    "    if l == '' or tonumber(us) > tonumber(l) then l = us end\n" \
    "  end\n" \
    "  c = tonumber(c) + 1\n" \
    "  redis.call('HSET', key, field, c .. ' ' .. f .. (l ~= f and ' ' .. l or ''))\n" \
    "  redis.call('ZADD', K.top, c, field)\n" \
    "end\n" \
    "local function grp_dec(key, field)\n" \
    "  local v = redis.call('HGET', key, field)\n" \
    "  if not v then return end\n" \
    "  local c, rest = string.match(v, '^(%d+)(.*)$')\n" \
    "  if not c then return end\n" \
    "  c = tonumber(c) - 1\n" \
    "  if c <= 0 then\n" \
    "    redis.call('HDEL', key, field)\n" \
    "    redis.call('ZREM', K.top, field)\n" \
    "    redis.call('HINCRBY', K.meta, 'groups', -1)\n" \
    "  else\n" \
    "    redis.call('HSET', key, field, c .. rest)\n" \
    "    if c >= 2 then redis.call('ZADD', K.top, c, field) else redis.call('ZREM', K.top, field) end\n" \
    "  end\n" \
    "end\n" \
    /* a call's ids are gathered per list and appended at its end, in \
     * order, one RPUSH per list (most alerts of a call share most lists) */ \
    "local tm, lp = {}, {}\n" \
    "local function tm_note(m, id)\n" \
    "  local t = tm[m]\n" \
    "  if t then t[2] = id else tm[m] = { id, id } end\n" \
    "end\n" \
    "local function ix_flush()\n" \
    "  for key, ids in pairs(lp) do redis.call('RPUSH', key, unpack(ids)) end\n" \
    "  if newgroups > 0 then redis.call('HINCRBY', K.meta, 'groups', newgroups) end\n" \
    "  for m, t in pairs(tm) do\n" \
    "    local v = redis.call('HGET', K.time, m)\n" \
    "    local first = v and string.match(v, '^(%S+)') or t[1]\n" \
    "    redis.call('HSET', K.time, m, first .. ' ' .. t[2])\n" \
    "  end\n" \
    "  tm, lp, newgroups = {}, {}, 0\n" \
    "end\n" \
    "local function ix_add(id, j, nx)\n" \
    "  local e = enc(id)\n" \
    "  for k = j + 6, j + nx - 1 do\n" \
    "    local l = lp[ARGV[k]]\n" \
    "    if l then l[#l + 1] = e else lp[ARGV[k]] = { e } end\n" \
    "  end\n" \
    "  if ARGV[j + 2] ~= '' then grp_add(ARGV[j + 2], ARGV[j + 3], ARGV[j + 1]) end\n" \
    "  if ARGV[j + 5] ~= '' then msg_add(ARGV[j + 4], ARGV[j + 5]) end\n" \
    "  if ARGV[j] ~= '' then tm_note(ARGV[j], id) end\n" \
    "end\n" \
    "local function ix_pop(key, fms, fsq)\n" \
    "  while true do\n" \
    "    local h = redis.call('LRANGE', key, 0, 99)\n" \
    "    local n = 0\n" \
    "    for _, e in ipairs(h) do\n" \
    "      local ms, sq = dec(e)\n" \
    "      if ms and older(ms, sq, fms, fsq) then n = n + 1 else break end\n" \
    "    end\n" \
    "    if n > 0 then redis.call('LTRIM', key, n, -1) end\n" \
    "    if n < 100 then return end\n" \
    "  end\n" \
    "end\n" \
    "local function dead(e, fms, fsq)\n" \
    "  local ms, sq = dec(e)\n" \
    "  return ms and older(ms, sq, fms, fsq)\n" \
    "end\n" \
    /* k ids of key were trimmed: its first k, when the index is as it \
     * should be (two LINDEX and an LTRIM); else every dead head */ \
    "local function ix_popn(key, k, fms, fsq)\n" \
    "  local e = redis.call('LINDEX', key, k - 1)\n" \
    "  if e and dead(e, fms, fsq) then\n" \
    "    local nx = redis.call('LINDEX', key, k)\n" \
    "    if not nx or not dead(nx, fms, fsq) then\n" \
    "      redis.call('LTRIM', key, k, -1)\n" \
    "      return\n" \
    "    end\n" \
    "  end\n" \
    "  ix_pop(key, fms, fsq)\n" \
    "end\n"

/* ARGV: sensor, MAXLEN (not used here: aix_trim() trims, indexes with the
 * entries), channel, then per alert seq, event, the count of its index
 * arguments and those (aix_put_args()). The sequence number is recorded
 * with each XADD, so an error part-way leaves the ones added behind it
 * recorded too. While a reindex holds the lock, alerts are added unfiled
 * (the reindex files them before it lets go). The first alert filed into
 * an index that did not exist records where the index starts ("from"). */
const char RCMD_ALERT_LUA[] = LUA_LIB
    "local last = tonumber(redis.call('HGET', K.seq, ARGV[1]) or '0')\n"
    "local ix = redis.call('EXISTS', K.lock) == 0\n"
    "local fresh = ix and redis.call('EXISTS', K.meta) == 0\n"
    "local n, i = 0, 4\n"
    "while i <= #ARGV do\n"
    "  local s, nx = tonumber(ARGV[i]), tonumber(ARGV[i + 2])\n"
    "  if s > last then\n"
    "    local id = redis.call('XADD', K.stream, '*', 'sensor', ARGV[1], 'seq', ARGV[i], 'event', ARGV[i + 1])\n"
    "    redis.call('HSET', K.seq, ARGV[1], ARGV[i])\n"
    "    redis.call('PUBLISH', ARGV[3], ARGV[i + 1])\n"
    "    if ix then\n"
    "      if fresh then\n"
    "        redis.call('HSET', K.meta, 'from', redis.call('XLEN', K.stream) == 1 and '0-0' or id)\n"
    "        fresh = false\n"
    "      end\n"
    "      ix_add(id, i + 3, nx)\n"
    "    end\n"
    "    last = s\n"
    "    n = n + 1\n"
    "  end\n"
    "  i = i + 3 + nx\n"
    "end\n"
    "if ix then ix_flush() end\n"
    "return n\n";

const char AIX_TRIM_LUA[] = LUA_LIB
    "local k, nl, nm = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local locked = redis.call('EXISTS', K.lock) == 1\n"
    "local pms, psq\n"
    "if locked then\n"
    "  local p = redis.call('HGET', K.meta, 'reindex_pos')\n"
    "  if p then pms, psq = idp(p) end\n"
    "end\n"
    "local removed, sids = 0, {}\n"
    "for a = 0, k - 1 do\n"
    "  local b = 4 + a * 5\n"
    "  if redis.call('XDEL', K.stream, ARGV[b]) == 1 then\n"
    "    removed = removed + 1\n"
    "    local ms, sq = idp(ARGV[b])\n"
    /* during a reindex, only what it has filed already was counted */
    "    if ARGV[b + 1] ~= '' and (not locked or (pms and not older(pms, psq, ms, sq))) then\n"
    "      grp_dec(ARGV[b + 1], ARGV[b + 2])\n"
    "    end\n"
    "  end\n"
    "  sids[ARGV[b + 3]] = ARGV[b + 4]\n"
    "end\n"
    "local f = redis.call('XRANGE', K.stream, '-', '+', 'COUNT', 1)[1]\n"
    "local fms, fsq = math.huge, 0\n"
    "if f then fms, fsq = idp(f[1]) end\n"
    "local lb = 4 + k * 5\n"
    "for a = 0, nl - 1 do ix_popn(ARGV[lb + 2 * a], tonumber(ARGV[lb + 2 * a + 1]), fms, fsq) end\n"
    "local cut = f and '(' .. string.format('%.0f', fms) or '+inf'\n"
    "for s = 9, 11 do redis.call('ZREMRANGEBYSCORE', KEYS[s], '-inf', cut) end\n"
    "if not locked then\n"
    "  for sid, key in pairs(sids) do\n"
    "    if redis.call('EXISTS', key) == 0 then msg_drop(sid) end\n"
    "  end\n"
    "end\n"
    "for a = lb + 2 * nl, lb + 2 * nl + nm - 1 do\n"
    "  local v = redis.call('HGET', K.time, ARGV[a])\n"
    "  local lid = v and string.match(v, ' (%S+)$')\n"
    "  if lid then\n"
    "    local lms, lsq = idp(lid)\n"
    "    if not f or older(lms, lsq, fms, fsq) then redis.call('HDEL', K.time, ARGV[a]) end\n"
    "  end\n"
    "end\n"
    "return removed\n";

#define LUA_OWN_LOCK \
    "if redis.call('GET', K.lock) ~= ARGV[1] then\n" \
    "  return redis.error_reply('linkwatch: the reindex lock is not this run\\'s')\n" \
    "end\n"

const char AIX_REINDEX_LUA[] = LUA_LIB LUA_OWN_LOCK
    "redis.call('PEXPIRE', K.lock, 60000)\n"
    "local i, last = 2, nil\n"
    "while i <= #ARGV do\n"
    "  local id, st, nx = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])\n"
    "  if #redis.call('XRANGE', K.stream, id, id) == 1 then\n"
    "    ix_add(id, i + 3, nx)\n"
    "    if st ~= '' then redis.call('ZADD', st, (idp(id)), id) end\n"
    "  end\n"
    "  last = id\n"
    "  i = i + 3 + nx\n"
    "end\n"
    "ix_flush()\n"
    "if last then redis.call('HSET', K.meta, 'reindex_pos', last) end\n"
    "return 1\n";

const char AIX_REINDEX_DONE_LUA[] = LUA_LIB LUA_OWN_LOCK
    "local e = redis.call('XREVRANGE', K.stream, '+', '-', 'COUNT', 1)[1]\n"
    "local p = redis.call('HGET', K.meta, 'reindex_pos') or '0-0'\n"
    "if e then\n"
    "  local ems, esq = idp(e[1])\n"
    "  local pms, psq = idp(p)\n"
    "  if older(pms, psq, ems, esq) then return 0 end\n"
    "end\n"
    "redis.call('DEL', K.lock)\n"
    "redis.call('HSET', K.meta, 'from', '0-0')\n"
    "redis.call('HDEL', K.meta, 'reindex_pos')\n"
    "return 1\n";

/* KEYS[1] an index list or status zset; ARGV: ms, seq (only ids before
 * it), n. Returns the newest n such ids of a list, oldest first (binary
 * search by LINDEX, then LRANGE); of a zset, the newest n by score plus
 * every other member of the last one's millisecond, in no order (a zset
 * orders one millisecond's ids by text, not by sequence: the caller sorts
 * and drops ids not before the bound). Nothing for a missing key. */
const char AIX_READ_LUA[] = LUA_CODEC
    "local key, n = KEYS[1], tonumber(ARGV[3])\n"
    "local hms, hsq = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "local t = redis.call('TYPE', key)['ok']\n"
    "if t == 'zset' then\n"
    "  local r = redis.call('ZREVRANGEBYSCORE', key, hsq == 0 and hms - 1 or hms, '-inf', 'LIMIT', 0, n)\n"
    "  if #r == n and n > 0 then\n"
    "    local s = redis.call('ZSCORE', key, r[#r])\n"
    "    for _, m in ipairs(redis.call('ZRANGEBYSCORE', key, s, s)) do r[#r + 1] = m end\n"
    "  end\n"
    "  return r\n"
    "end\n"
    "if t ~= 'list' then return {} end\n"
    "local lo, hi = 0, redis.call('LLEN', key)\n"
    "while lo < hi do\n"
    "  local mid = math.floor((lo + hi) / 2)\n"
    "  local ms, sq = dec(redis.call('LINDEX', key, mid))\n"
    "  if older(ms, sq, hms, hsq) then lo = mid + 1 else hi = mid end\n"
    "end\n"
    "if lo == 0 then return {} end\n"
    "return redis.call('LRANGE', key, math.max(0, lo - n), lo - 1)\n";

/* ------------------------------------------------------------------ terms */

enum want {
    W_TS, W_SRC, W_DST, W_APP, W_SID, W_SEV, W_SIG, W_CC_SRC, W_CC_DST, W_SCOPE, W_NDPI, W_MAX
};

static const char *const want_paths[W_MAX] = {
    "timestamp", "src_ip", "dest_ip", "app_proto", "alert.signature_id", "alert.severity",
    "alert.signature", "geo.src.country", "geo.dest.country", "geo.scope", "ndpi.protocol",
};

/* v in decimal into out (at least 21 bytes). */
static void u64_str(char *out, uint64_t v)
{
    char n[24], *p = n + sizeof n;

    *--p = '\0';
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    memcpy(out, p, (size_t)(n + sizeof n - p));
}

/* A short string value into out ("" when absent, malformed or longer). */
static void short_str(const struct jscan_want *w, char *out, size_t outlen)
{
    if (jscan_string(w, out, outlen) < 0)
        out[0] = '\0';
}

/* Adds the list of fam and value; from > 0: unless one of lists[from..]
 * (the same family) is it already. */
static void add_list(struct aix_terms *t, const struct rkeys *rk, const char *fam, const char *value,
                     size_t from)
{
    char *k = t->lists[t->nlists];

    if (t->nlists >= AIX_MAX_LISTS)
        return;
    rkey_ix(k, RKEY_MAX, rk, fam, value);
    for (size_t i = from; from && i < t->nlists; i++)
        if (strcmp(k, t->lists[i]) == 0)
            return;
    t->nlists++;
}

/* The host and network lists of one end. */
static void add_host(struct aix_terms *t, const struct rkeys *rk, const char *side, const char *txt)
{
    struct lw_addr a;
    char canon[LW_ADDRSTRLEN];

    if (!txt[0] || lw_addr_parse(txt, &a) < 0 || t->nlists + 2 > AIX_MAX_LISTS)
        return;
    /* dotted quads inet_pton takes are already as inet_ntop writes them */
    if (a.family == 4)
        add_list(t, rk, side, txt, 0);
    else
        add_list(t, rk, side, lw_addr_str(&a, canon, sizeof canon), 0);
    rkey_ix_net(t->lists[t->nlists++], RKEY_MAX, rk, side, &a);
}

/* The protocol list of an app_proto or nDPI name, lowercased; only names a
 * filter could ask for (letters, digits, '.', '-', '_', at most 32). */
static void add_proto(struct aix_terms *t, const struct rkeys *rk, const char *name, size_t from)
{
    char low[33];
    size_t n = strlen(name);

    if (n == 0 || n >= sizeof low)
        return;
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c && !isalnum(c) && c != '.' && c != '-' && c != '_')
            return;
        low[i] = (char)tolower(c);
    }
    add_list(t, rk, "proto", low, from);
}

/* Capture minute and microseconds of an EVE timestamp. */
static void time_terms(struct aix_terms *t, const struct jscan_want *w)
{
    char ts[64];
    int64_t us;

    if (jscan_string(w, ts, sizeof ts) < 0 || lw_time_parse(ts, &us) < 0)
        return;
    if (us < 0)
        return;                          /* before 1970: no EVE time of ours */
    u64_str(t->usec, (uint64_t)us);
    u64_str(t->minute, (uint64_t)us / 60000000);
}

/* "<sid>|<src>|<dst>" and its counting hash; none when it does not fit. */
static void group_field(struct aix_terms *t, const struct rkeys *rk, const char *src, const char *dst)
{
    size_t a = strlen(t->sid), b = strlen(src), c = strlen(dst);

    t->gfield[0] = t->gkey[0] = '\0';
    if (a + b + c + 3 > sizeof t->gfield)
        return;
    memcpy(t->gfield, t->sid, a);
    t->gfield[a] = '|';
    memcpy(t->gfield + a + 1, src, b);
    t->gfield[a + 1 + b] = '|';
    memcpy(t->gfield + a + 2 + b, dst, c + 1);
    rkey_ix_group(t->gkey, sizeof t->gkey, rk, t->gfield, a + b + c + 2);
}

/* "<severity> <signature>" into scratch. */
static int message(struct aix_terms *t, const struct jscan_want *sig, const char *sev,
                   char *scratch, size_t scratchlen)
{
    size_t off = strlen(sev[0] ? sev : "0") + 1;
    long n;

    if (off >= scratchlen)
        return -1;
    memcpy(scratch, sev[0] ? sev : "0", off - 1);
    scratch[off - 1] = ' ';

    if (sig->type != JS_STRING)
        return 0;
    if ((n = jscan_string(sig, scratch + off, scratchlen - off)) < 0)
        return sig->n + 32 > scratchlen ? -1 : 0;
    t->msg = scratch;
    t->msglen = off + (size_t)n;
    return 0;
}

int aix_terms(const char *line, size_t len, const char *sensor, const struct rkeys *rk,
              struct aix_terms *t, char *scratch, size_t scratchlen)
{
    struct jscan_want w[W_MAX];
    char src[LW_ADDRSTRLEN + 16], dst[LW_ADDRSTRLEN + 16], sev[24] = "", v[64];
    uint64_t n;
    size_t first;

    t->nlists = 0;
    t->sid[0] = t->minute[0] = t->usec[0] = t->gkey[0] = t->gfield[0] = '\0';
    t->msg = NULL;
    t->msglen = 0;
    for (int i = 0; i < W_MAX; i++)
        w[i].path = want_paths[i];
    jscan_object(line, len, w, W_MAX);     /* a fault: what was found still counts */
    u64_str(t->sid, jscan_u64(&w[W_SID], &n) == 0 ? n : 0);
    add_list(t, rk, "sid", t->sid, 0);
    if (jscan_u64(&w[W_SEV], &n) == 0) {
        u64_str(sev, n);
        add_list(t, rk, "sev", sev, 0);
    }
    if (sensor && sensor[0] && strlen(sensor) <= 64)
        add_list(t, rk, "sensor", sensor, 0);
    short_str(&w[W_SRC], src, sizeof src);
    short_str(&w[W_DST], dst, sizeof dst);
    add_host(t, rk, "src", src);
    add_host(t, rk, "dst", dst);
    first = t->nlists;
    for (int i = W_CC_SRC; i <= W_CC_DST; i++) {
        short_str(&w[i], v, sizeof v);
        if (strlen(v) == 2)
            add_list(t, rk, "cc", v, first);
    }
    short_str(&w[W_SCOPE], v, sizeof v);
    if (v[0] && strlen(v) < 32)
        add_list(t, rk, "scope", v, 0);
    first = t->nlists;
    short_str(&w[W_APP], v, sizeof v);
    add_proto(t, rk, v, first);
    short_str(&w[W_NDPI], v, sizeof v);
    add_proto(t, rk, v, first);
    time_terms(t, &w[W_TS]);
    group_field(t, rk, src, dst);
    return message(t, &w[W_SIG], sev, scratch, scratchlen);
}

void aix_fixed_keys(const struct rkeys *rk, char keys[AIX_NKEYS][RKEY_MAX])
{
    static const char *const fixed[] = { "meta", "lock", "words", "msg", "grptop", "time" };
    static const char *const statuses[] = { "acknowledged", "escalated", "closed" };

    rkey_named(keys[0], RKEY_MAX, rk, "alerts");
    rkey_named(keys[1], RKEY_MAX, rk, "alerts-seq");
    for (int i = 0; i < 6; i++)
        rkey_ix(keys[2 + i], RKEY_MAX, rk, fixed[i], NULL);
    for (int i = 0; i < 3; i++)
        rkey_ix_status(keys[8 + i], RKEY_MAX, rk, statuses[i]);
}

size_t aix_nargs(const struct aix_terms *t)
{
    return 6 + t->nlists;
}

/* ------------------------------------------------------------------ ids */

int aix_id_parse(const char *id, uint64_t *ms, uint64_t *seq)
{
    char *end;

    if (!isdigit((unsigned char)id[0]))
        return -1;
    *ms = strtoull(id, &end, 10);
    if (*end != '-' || !isdigit((unsigned char)end[1]))
        return -1;
    *seq = strtoull(end + 1, &end, 10);
    return *end == '\0' ? 0 : -1;
}

int aix_id_decode(const char *e, size_t n, char *id, size_t idlen)
{
    char buf[48];
    uint64_t ms, seq;

    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, e, n);
    buf[n] = '\0';
    if (memchr(buf, '-', n)) {
        if (aix_id_parse(buf, &ms, &seq) < 0)
            return -1;
    } else {
        for (size_t i = 0; i < n; i++)
            if (!isdigit((unsigned char)buf[i]))
                return -1;
        if (n < 4)
            return -1;
        seq = strtoull(buf + n - 3, NULL, 10);
        buf[n - 3] = '\0';
        ms = strtoull(buf, NULL, 10);
    }
    return snprintf(id, idlen, "%llu-%llu", (unsigned long long)ms, (unsigned long long)seq) <
           (int)idlen ? 0 : -1;
}

int aix_id_cmp(const char *a, const char *b)
{
    uint64_t am = 0, as = 0, bm = 0, bs = 0;

    aix_id_parse(a, &am, &as);
    aix_id_parse(b, &bm, &bs);
    if (am != bm)
        return am < bm ? -1 : 1;
    return as < bs ? -1 : as > bs ? 1 : 0;
}
