/*
 * The API floor, for `make bench`: the least a module command can do for the work of
 * TLOG.LOG, TLOG.LATEST and a decoded TLOG.GET page through the Redis 7.0 module API, in
 * plain C. Each command makes
 * only the calls the work needs (the caller's ACL user and key checks, the key opens, the
 * writes and their effect replication, the reply) and leaves out everything else tlog does:
 * argument and type checks, the never-overwrite check, the clock, JSON encoding and decoding,
 * keyspace notifications, retention. Its throughput bounds what any module can reach for
 * that work on the same server.
 *
 *   FLOOR.LOG prefix message tag   the record written and replicated as TLOG.LOG does
 *   FLOOR.LATEST prefix tag        the newest record replied as TLOG.LATEST's map, with a
 *                                  fixed time text and the message taken at a fixed offset
 *   FLOOR.PAGE prefix tag count    the newest `count` records of the tag's flow replied as
 *                                  TLOG.GET's decoded page (an array of those maps): the ids
 *                                  read with one LRANGE and the records with one MGET, as
 *                                  tlog reads a page, every record key ACL-checked first
 */
#include <stdlib.h>
#include <string.h>

#include "redismodule.h"

/* The caller's ACL user, as tlog gets it; freed with RedisModule_FreeModuleUser. */
static RedisModuleUser *caller_user(RedisModuleCtx *ctx) {
    if (RedisModule_GetClientInfoById(NULL, RedisModule_GetClientId(ctx)) != REDISMODULE_OK) return NULL;
    RedisModuleString *name = RedisModule_GetCurrentUserName(ctx);
    if (!name) return NULL;
    RedisModuleUser *user = RedisModule_GetModuleUserFromUserName(name);
    RedisModule_FreeString(ctx, name);
    return user;
}

/* `<prefix><middle><tail>` as a new string; plain copies, no formatting. */
static RedisModuleString *key_name(RedisModuleCtx *ctx, const char *p, size_t plen, const char *middle, const char *tail,
                                   size_t tlen) {
    char buf[512];
    size_t mlen = strlen(middle);
    if (plen + mlen + tlen > sizeof buf) return RedisModule_CreateString(ctx, "", 0);
    memcpy(buf, p, plen);
    memcpy(buf + plen, middle, mlen);
    memcpy(buf + plen + mlen, tail, tlen);
    return RedisModule_CreateString(ctx, buf, plen + mlen + tlen);
}

static int FloorLog(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc != 4) return RedisModule_WrongArity(ctx);
    size_t plen, mlen, tlen;
    const char *p = RedisModule_StringPtrLen(argv[1], &plen);
    const char *m = RedisModule_StringPtrLen(argv[2], &mlen);
    const char *t = RedisModule_StringPtrLen(argv[3], &tlen);
    RedisModuleUser *user = caller_user(ctx);
    RedisModuleString *counter = key_name(ctx, p, plen, ":counter", "", 0);
    RedisModuleString *all = key_name(ctx, p, plen, ":flow:__all__", "", 0);
    RedisModuleString *flow = key_name(ctx, p, plen, ":flow:", t, tlen);
    if (user) {
        RedisModule_ACLCheckKeyPermissions(user, counter, REDISMODULE_CMD_KEY_ACCESS | REDISMODULE_CMD_KEY_UPDATE);
        RedisModule_ACLCheckKeyPermissions(user, all, REDISMODULE_CMD_KEY_ACCESS | REDISMODULE_CMD_KEY_UPDATE);
        RedisModule_ACLCheckKeyPermissions(user, flow, REDISMODULE_CMD_KEY_INSERT);
    }
    RedisModuleKey *ck = RedisModule_OpenKey(ctx, counter, REDISMODULE_READ | REDISMODULE_WRITE);
    long long id = 1;
    if (RedisModule_KeyType(ck) == REDISMODULE_KEYTYPE_STRING) {
        size_t len;
        char digits[32] = {0};
        const char *v = RedisModule_StringDMA(ck, &len, REDISMODULE_READ);
        memcpy(digits, v, len < sizeof digits - 1 ? len : sizeof digits - 1);
        id = atoll(digits) + 1;
    }
    RedisModuleString *idstr = RedisModule_CreateStringFromLongLong(ctx, id);
    RedisModule_StringSet(ck, idstr);
    size_t idlen;
    const char *idtext = RedisModule_StringPtrLen(idstr, &idlen);
    RedisModuleString *msg = key_name(ctx, p, plen, ":msg:", idtext, idlen);
    if (user) RedisModule_ACLCheckKeyPermissions(user, msg, REDISMODULE_CMD_KEY_INSERT);
    /* The record: plain copies around the message and the tag, which are not escaped. */
    char rec[1024];
    size_t n = 0;
#define PUT(src, len)                                  \
    do {                                               \
        size_t l_ = (len);                             \
        if (n + l_ <= sizeof rec) memcpy(rec + n, (src), l_); \
        n += l_;                                       \
    } while (0)
#define PUTS(literal) PUT(literal, sizeof literal - 1)
    PUTS("{\"id\":");
    PUT(idtext, idlen);
    PUTS(",\"ts\":1795429502.123456,\"message\":\"");
    PUT(m, mlen);
    PUTS("\",\"tags\":[\"");
    PUT(t, tlen);
    PUTS("\"]}");
#undef PUT
#undef PUTS
    RedisModuleString *record = RedisModule_CreateString(ctx, rec, n <= sizeof rec ? n : 0);
    RedisModuleKey *mk = RedisModule_OpenKey(ctx, msg, REDISMODULE_READ | REDISMODULE_WRITE);
    RedisModule_StringSet(mk, record);
    RedisModuleKey *ak = RedisModule_OpenKey(ctx, all, REDISMODULE_READ | REDISMODULE_WRITE);
    RedisModule_ListPush(ak, REDISMODULE_LIST_HEAD, idstr);
    RedisModuleKey *fk = RedisModule_OpenKey(ctx, flow, REDISMODULE_READ | REDISMODULE_WRITE);
    RedisModule_ListPush(fk, REDISMODULE_LIST_HEAD, idstr);
    RedisModule_Replicate(ctx, "MSET", "ssss", counter, idstr, msg, record);
    RedisModule_Replicate(ctx, "LPUSH", "ss", all, idstr);
    RedisModule_Replicate(ctx, "LPUSH", "ss", flow, idstr);
    RedisModule_CloseKey(ck);
    RedisModule_CloseKey(mk);
    RedisModule_CloseKey(ak);
    RedisModule_CloseKey(fk);
    RedisModule_ReplyWithLongLong(ctx, id);
    RedisModule_FreeString(ctx, counter);
    RedisModule_FreeString(ctx, all);
    RedisModule_FreeString(ctx, flow);
    RedisModule_FreeString(ctx, msg);
    RedisModule_FreeString(ctx, record);
    RedisModule_FreeString(ctx, idstr);
    if (user) RedisModule_FreeModuleUser(user);
    return REDISMODULE_OK;
}

static int FloorLatest(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc != 3) return RedisModule_WrongArity(ctx);
    size_t plen, tlen;
    const char *p = RedisModule_StringPtrLen(argv[1], &plen);
    const char *t = RedisModule_StringPtrLen(argv[2], &tlen);
    RedisModuleUser *user = caller_user(ctx);
    RedisModuleString *flow = key_name(ctx, p, plen, ":flow:", t, tlen);
    if (user) RedisModule_ACLCheckKeyPermissions(user, flow, REDISMODULE_CMD_KEY_ACCESS);
    RedisModuleKey *fk = RedisModule_OpenKey(ctx, flow, REDISMODULE_READ);
    RedisModuleString *head = NULL;
    if (fk && RedisModule_KeyType(fk) == REDISMODULE_KEYTYPE_LIST) head = RedisModule_ListGet(fk, 0);
    long long id = 0;
    RedisModuleKey *mk = NULL;
    const char *value = NULL;
    size_t vlen = 0;
    if (head && RedisModule_StringToLongLong(head, &id) == REDISMODULE_OK) {
        size_t hlen;
        const char *h = RedisModule_StringPtrLen(head, &hlen);
        RedisModuleString *msg = key_name(ctx, p, plen, ":msg:", h, hlen);
        if (user) RedisModule_ACLCheckKeyPermissions(user, msg, REDISMODULE_CMD_KEY_ACCESS);
        mk = RedisModule_OpenKey(ctx, msg, REDISMODULE_READ);
        if (mk && RedisModule_KeyType(mk) == REDISMODULE_KEYTYPE_STRING)
            value = RedisModule_StringDMA(mk, &vlen, REDISMODULE_READ);
        RedisModule_FreeString(ctx, msg);
    }
    if (!value) {
        RedisModule_ReplyWithNull(ctx);
    } else {
        /* The message of a 100-byte record as tlog writes it starts at byte 45 or so. */
        size_t at = vlen > 45 ? 45 : 0, len = vlen - at > 100 ? 100 : vlen - at;
        RedisModule_ReplyWithMap(ctx, 4);
        RedisModule_ReplyWithStringBuffer(ctx, "id", 2);
        RedisModule_ReplyWithLongLong(ctx, id);
        RedisModule_ReplyWithStringBuffer(ctx, "ts", 2);
        RedisModule_ReplyWithStringBuffer(ctx, "2026-11-23T10:25:02.123456+00:00", 32);
        RedisModule_ReplyWithStringBuffer(ctx, "message", 7);
        RedisModule_ReplyWithStringBuffer(ctx, value + at, len);
        RedisModule_ReplyWithStringBuffer(ctx, "tags", 4);
        RedisModule_ReplyWithArray(ctx, 1);
        RedisModule_ReplyWithStringBuffer(ctx, t, tlen);
    }
    if (mk) RedisModule_CloseKey(mk);
    if (head) RedisModule_FreeString(ctx, head);
    if (fk) RedisModule_CloseKey(fk);
    RedisModule_FreeString(ctx, flow);
    if (user) RedisModule_FreeModuleUser(user);
    return REDISMODULE_OK;
}

/* One record of a page as TLOG.GET's map: the id, a fixed time text, the message at the
 * fixed offset FLOOR.LATEST takes it from, and the tag. */
static void reply_record(RedisModuleCtx *ctx, long long id, const char *value, size_t vlen, const char *t,
                         size_t tlen) {
    size_t at = vlen > 45 ? 45 : 0, len = vlen - at > 100 ? 100 : vlen - at;
    RedisModule_ReplyWithMap(ctx, 4);
    RedisModule_ReplyWithStringBuffer(ctx, "id", 2);
    RedisModule_ReplyWithLongLong(ctx, id);
    RedisModule_ReplyWithStringBuffer(ctx, "ts", 2);
    RedisModule_ReplyWithStringBuffer(ctx, "2026-11-23T10:25:02.123456+00:00", 32);
    RedisModule_ReplyWithStringBuffer(ctx, "message", 7);
    RedisModule_ReplyWithStringBuffer(ctx, value + at, len);
    RedisModule_ReplyWithStringBuffer(ctx, "tags", 4);
    RedisModule_ReplyWithArray(ctx, 1);
    RedisModule_ReplyWithStringBuffer(ctx, t, tlen);
}

static int FloorPage(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    if (argc != 4) return RedisModule_WrongArity(ctx);
    long long count;
    if (RedisModule_StringToLongLong(argv[3], &count) != REDISMODULE_OK || count < 1 || count > 1000)
        return RedisModule_ReplyWithError(ctx, "ERR count must be 1 to 1000");
    size_t plen, tlen;
    const char *p = RedisModule_StringPtrLen(argv[1], &plen);
    const char *t = RedisModule_StringPtrLen(argv[2], &tlen);
    RedisModuleUser *user = caller_user(ctx);
    RedisModuleString *flow = key_name(ctx, p, plen, ":flow:", t, tlen);
    if (user) RedisModule_ACLCheckKeyPermissions(user, flow, REDISMODULE_CMD_KEY_ACCESS);
    RedisModuleCallReply *ids = RedisModule_Call(ctx, "LRANGE", "sll", flow, 0LL, count - 1);
    size_t n = ids && RedisModule_CallReplyType(ids) == REDISMODULE_REPLY_ARRAY ? RedisModule_CallReplyLength(ids) : 0;
    RedisModuleString *names[1000];
    long long idv[1000];
    for (size_t i = 0; i < n; i++) {
        size_t hlen;
        const char *h = RedisModule_CallReplyStringPtr(RedisModule_CallReplyArrayElement(ids, i), &hlen);
        names[i] = key_name(ctx, p, plen, ":msg:", h, hlen);
        if (user) RedisModule_ACLCheckKeyPermissions(user, names[i], REDISMODULE_CMD_KEY_ACCESS);
        char digits[32] = {0};
        memcpy(digits, h, hlen < sizeof digits - 1 ? hlen : sizeof digits - 1);
        idv[i] = atoll(digits);
    }
    RedisModuleCallReply *recs = n ? RedisModule_Call(ctx, "MGET", "v", names, n) : NULL;
    size_t found = 0;
    for (size_t i = 0; recs && i < n; i++)
        if (RedisModule_CallReplyType(RedisModule_CallReplyArrayElement(recs, i)) == REDISMODULE_REPLY_STRING) found++;
    RedisModule_ReplyWithArray(ctx, found);
    for (size_t i = 0; recs && i < n; i++) {
        RedisModuleCallReply *r = RedisModule_CallReplyArrayElement(recs, i);
        if (RedisModule_CallReplyType(r) != REDISMODULE_REPLY_STRING) continue;
        size_t vlen;
        const char *value = RedisModule_CallReplyStringPtr(r, &vlen);
        reply_record(ctx, idv[i], value, vlen, t, tlen);
    }
    for (size_t i = 0; i < n; i++) RedisModule_FreeString(ctx, names[i]);
    if (recs) RedisModule_FreeCallReply(recs);
    if (ids) RedisModule_FreeCallReply(ids);
    RedisModule_FreeString(ctx, flow);
    if (user) RedisModule_FreeModuleUser(user);
    return REDISMODULE_OK;
}

int RedisModule_OnLoad(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    (void)argv;
    (void)argc;
    if (RedisModule_Init(ctx, "apifloor", 1, REDISMODULE_APIVER_1) == REDISMODULE_ERR) return REDISMODULE_ERR;
    if (RedisModule_CreateCommand(ctx, "floor.log", FloorLog, "write deny-oom", 0, 0, 0) == REDISMODULE_ERR)
        return REDISMODULE_ERR;
    if (RedisModule_CreateCommand(ctx, "floor.latest", FloorLatest, "readonly", 0, 0, 0) == REDISMODULE_ERR)
        return REDISMODULE_ERR;
    if (RedisModule_CreateCommand(ctx, "floor.page", FloorPage, "readonly", 0, 0, 0) == REDISMODULE_ERR)
        return REDISMODULE_ERR;
    return REDISMODULE_OK;
}
