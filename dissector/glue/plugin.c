/*
 * phonehome Wireshark glue.
 *
 * Compiled against the headers of the Wireshark that pkg-config finds, so
 * every Wireshark type and macro comes from Wireshark itself. It knows no
 * protocol: it registers the protocols, fields, expert infos, key tables,
 * preferences and ports that the Rust side describes (ph_proto_info), and
 * renders the flat item lists that ph_dissect returns.
 *
 * Wireshark reports errors by longjmp-ing exceptions. All tree building
 * happens here, after Rust has returned, so an exception never crosses a
 * Rust frame; results are freed by a packet-scope callback, so they are
 * released even when an exception cuts rendering short.
 */

#include <string.h>

#include <epan/packet.h>
#include <epan/conversation.h>
#include <epan/expert.h>
#include <epan/prefs.h>
#include <epan/stats_tree.h>
#include <epan/tap.h>
#include <epan/uat.h>
#include <epan/dissectors/packet-tcp.h>
#include <ws_version.h>

#include "phonehome_ffi.h"

#if PH_WANT_MAJOR != WIRESHARK_VERSION_MAJOR || PH_WANT_MINOR != WIRESHARK_VERSION_MINOR
#error "pkg-config's Wireshark version differs from ws_version.h"
#endif

/* Callback signatures switched from gboolean to bool in Wireshark 4.2. */
#if WIRESHARK_VERSION_MAJOR > 4 || (WIRESHARK_VERSION_MAJOR == 4 && WIRESHARK_VERSION_MINOR >= 2)
#include <wsutil/plugins.h>
typedef bool ph_bool;
#define PH_TRUE true
#define PH_FALSE false
#else
typedef gboolean ph_bool;
#define PH_TRUE TRUE
#define PH_FALSE FALSE
#endif

/* Per-protocol callbacks without a user-data argument (heuristics, UAT and
 * preference updates) go through one trampoline per protocol slot. */
#define PH_MAX_PROTOS 8
#define PH_MAX_COLUMNS 4
#define PH_MAX_DEPTH 32
#define PH_MAX_SHARED_PORTS 4

typedef struct {
    char *c[PH_MAX_COLUMNS];
} ph_row_t;

typedef struct {
    size_t idx;                 /* index on the Rust side */
    const PhProtoInfo *info;
    int proto;
    int *hf;                    /* one per field */
    gint ett_root;
    gint *ett;                  /* one per field, for its subtree */
    expert_field *ei;           /* one per expert, then "malformed" */
    dissector_handle_t udp_handle;
    dissector_handle_t tcp_handle;
    guint32 shared_ports[PH_MAX_SHARED_PORTS]; /* TCP ports shared with others */
    dissector_handle_t previous[PH_MAX_SHARED_PORTS]; /* who had each port before */
    PhSlot *capture;            /* per-capture-file state */
    ph_row_t *rows;             /* the key table (UAT) */
    guint n_rows;
    char **pref_values;
} ph_proto_t;

static ph_proto_t protos[PH_MAX_PROTOS];
static size_t n_protos;
static dissector_handle_t json_handle;
/* The JSON protocol, its fields and frame.protocols: while none of them is
 * referenced and the tree is not shown, no one reads what the JSON
 * dissector would add, so decrypted JSON is not handed to it. */
static int proto_json = -1;
static int hf_frame_protocols = -1;
static int *json_fields;
static size_t n_json_fields;
static int devices_tap = -1;

/* What the "phonehome" tap gives the device view for one packet. */
typedef struct {
    const char *proto;
    const char *device;
    const char *facts;
    PhKeyState key;
    PhPayloadState payload;
} ph_device_tap_t;

/* ---- rendering ---------------------------------------------------------- */

static ph_bool free_result_cb(wmem_allocator_t *allocator, wmem_cb_event_t event, void *data)
{
    (void)allocator;
    (void)event;
    ph_result_free((PhResult *)data);
    return PH_FALSE;
}

static ph_bool free_slot_cb(wmem_allocator_t *allocator, wmem_cb_event_t event, void *data)
{
    (void)allocator;
    (void)event;
    ph_slot_free((PhSlot *)data);
    return PH_FALSE;
}

static void fill_address(const address *a, uint8_t *kind, uint8_t out[16])
{
    memset(out, 0, 16);
    *kind = PH_ADDR_NONE;
    if (a->type == AT_IPv4 && a->len == 4) {
        memcpy(out, a->data, 4);
        *kind = PH_ADDR_IPV4;
    } else if (a->type == AT_IPv6 && a->len == 16) {
        memcpy(out, a->data, 16);
        *kind = PH_ADDR_IPV6;
    }
}

/* The protocol's state for this packet's conversation, created on first
 * use and freed with the capture file. */
static PhSlot *conversation_slot(ph_proto_t *p, packet_info *pinfo)
{
    conversation_t *conv = find_or_create_conversation(pinfo);
    PhSlot *slot = (PhSlot *)conversation_get_proto_data(conv, p->proto);
    if (!slot) {
        slot = ph_slot_new();
        conversation_add_proto_data(conv, p->proto, slot);
        wmem_register_callback(wmem_file_scope(), free_slot_cb, slot);
    }
    return slot;
}

static guint encoding_of(PhEnc enc)
{
    switch (enc) {
    case PhEnc_Big: return ENC_BIG_ENDIAN;
    case PhEnc_Little: return ENC_LITTLE_ENDIAN;
    case PhEnc_Ascii: return ENC_ASCII | ENC_NA;
    case PhEnc_Utf8: return ENC_UTF_8 | ENC_NA;
    default: return ENC_NA;
    }
}

/* Adds one field item with a computed value. */
static proto_item *add_value(ph_proto_t *p, proto_tree *tree, tvbuff_t *tvb, const PhItem *it)
{
    int hf = p->hf[it->id];
    gint off = (gint)it->offset, len = (gint)it->length;
    PhKind kind = p->info->fields[it->id].kind;
    switch (it->value_kind) {
    case PH_VALUE_UINT:
    case PH_VALUE_FRAME:
        if (kind == PhKind_U64)
            return proto_tree_add_uint64(tree, hf, tvb, off, len, it->uint);
        if (kind == PhKind_Bool)
            return proto_tree_add_boolean(tree, hf, tvb, off, len, (guint32)(it->uint != 0));
        return proto_tree_add_uint(tree, hf, tvb, off, len, (guint32)it->uint);
    case PH_VALUE_BOOL:
        return proto_tree_add_boolean(tree, hf, tvb, off, len, (guint32)it->uint);
    case PH_VALUE_INT:
        return proto_tree_add_int64(tree, hf, tvb, off, len, it->sint);
    case PH_VALUE_STR:
        return proto_tree_add_string(tree, hf, tvb, off, len, it->text);
    case PH_VALUE_BYTES:
        return proto_tree_add_bytes_with_length(tree, hf, tvb, off, len, it->bytes, (gint)it->n_bytes);
    case PH_VALUE_IPV4:
        return proto_tree_add_ipv4(tree, hf, tvb, off, len, g_htonl((guint32)it->uint));
    case PH_VALUE_SECONDS: {
        nstime_t t;
        t.secs = (time_t)it->dbl;
        t.nsecs = (int)((it->dbl - (double)t.secs) * 1e9);
        return proto_tree_add_time(tree, hf, tvb, off, len, &t);
    }
    case PH_VALUE_DOUBLE:
        return proto_tree_add_double(tree, hf, tvb, off, len, it->dbl);
    default:
        return proto_tree_add_item(tree, hf, tvb, off, len, encoding_of(it->enc));
    }
}

/* Whether anything will read the JSON dissector's work on this packet. */
static gboolean json_wanted(proto_tree *tree)
{
    if (!tree)
        return FALSE;
    if (PTREE_DATA(tree)->visible || (proto_json >= 0 && proto_field_is_referenced(tree, proto_json)) ||
        (hf_frame_protocols >= 0 && proto_field_is_referenced(tree, hf_frame_protocols)))
        return TRUE;
    for (size_t i = 0; i < n_json_fields; i++)
        if (proto_field_is_referenced(tree, json_fields[i]))
            return TRUE;
    return FALSE;
}

/* Tells the Rust side what Wireshark will read of the dissection: with the
 * tree shown everything but the device record, which only the device view
 * reads; else the fields a filter, column or tap references, and the text
 * when columns or the device view are built. */
static void set_wanted(ph_proto_t *p, packet_info *pinfo, proto_tree *tree, PhPacket *pk)
{
    pk->wanted_device = have_tap_listener(devices_tap);
    pk->wanted_text = (tree && PTREE_DATA(tree)->visible) || pinfo->cinfo || pk->wanted_device;
    if (tree && PTREE_DATA(tree)->visible) {
        pk->wanted_low = pk->wanted_high = UINT64_MAX;
        return;
    }
    for (size_t i = 0; i < p->info->n_fields && i < 128; i++) {
        if (proto_field_is_referenced(tree, p->hf[i])) {
            if (i < 64)
                pk->wanted_low |= (uint64_t)1 << i;
            else
                pk->wanted_high |= (uint64_t)1 << (i - 64);
        }
    }
    /* Fields past the mask's width are always built (see Wanted). */
}

/* Dissects one PDU (the whole tvb) with protocol p; returns the bytes
 * taken, 0 when the Rust side says the bytes are not this protocol. */
static int render(ph_proto_t *p, tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree)
{
    guint len = tvb_captured_length(tvb);
    const guint8 *data = len ? tvb_get_ptr(tvb, 0, len) : NULL;
    PhPacket pk;
    memset(&pk, 0, sizeof pk);
    pk.frame = pinfo->num;
    pk.visited = PINFO_FD_VISITED(pinfo) ? true : false;
    pk.transport = pinfo->ptype == PT_UDP ? PH_TRANSPORT_UDP
                 : pinfo->ptype == PT_TCP ? PH_TRANSPORT_TCP : PH_TRANSPORT_OTHER;
    fill_address(&pinfo->src, &pk.src_kind, pk.src);
    fill_address(&pinfo->dst, &pk.dst_kind, pk.dst);
    pk.src_port = (uint16_t)pinfo->srcport;
    pk.dst_port = (uint16_t)pinfo->destport;
    pk.time = (double)pinfo->abs_ts.secs + pinfo->abs_ts.nsecs / 1e9;
    set_wanted(p, pinfo, tree, &pk);

    PhResult *r = ph_dissect(p->idx, &pk, data, len, conversation_slot(p, pinfo), p->capture);
    if (!ph_result_accepted(r)) {
        ph_result_free(r);
        return 0;
    }
    /* Freed at the end of this packet, even if an exception unwinds us. */
    wmem_register_callback(pinfo->pool, free_result_cb, r);

    col_set_str(pinfo->cinfo, COL_PROTOCOL, p->info->short_name);

    size_t n_sources = ph_result_source_count(r);
    tvbuff_t **sources = wmem_alloc_array(pinfo->pool, tvbuff_t *, n_sources + 1);
    sources[0] = tvb;
    for (size_t i = 0; i < n_sources; i++) {
        const uint8_t *bytes;
        size_t n;
        const char *name = ph_result_source(r, i, &bytes, &n);
        guint8 *copy = (guint8 *)wmem_memdup(pinfo->pool, bytes, n);
        sources[i + 1] = tvb_new_child_real_data(tvb, copy, (guint)n, (gint)n);
        add_new_data_source(pinfo, sources[i + 1], name);
    }

    proto_item *root = proto_tree_add_item(tree, p->proto, tvb, 0, -1, ENC_NA);
    proto_tree *stack[PH_MAX_DEPTH];
    int depth = 0;
    stack[0] = proto_item_add_subtree(root, p->ett_root);
    proto_item *last = root;
    uint32_t last_field = UINT32_MAX;

    size_t n_items;
    const PhItem *items = ph_result_items(r, &n_items);
    for (size_t i = 0; i < n_items; i++) {
        const PhItem *it = &items[i];
        tvbuff_t *src = it->source <= n_sources ? sources[it->source] : tvb;
        switch (it->kind) {
        case PH_ITEM_FIELD:
            if (it->id >= p->info->n_fields)
                break;
            last = add_value(p, stack[depth], src, it);
            last_field = it->id;
            if (it->generated)
                proto_item_set_generated(last);
            break;
        case PH_ITEM_OPEN:
            if (depth + 1 < PH_MAX_DEPTH) {
                gint ett = last_field < p->info->n_fields ? p->ett[last_field] : p->ett_root;
                stack[depth + 1] = proto_item_add_subtree(last, ett);
                depth++;
            }
            break;
        case PH_ITEM_CLOSE:
            if (depth > 0)
                depth--;
            break;
        case PH_ITEM_APPEND:
            proto_item_append_text(last, "%s", it->text);
            break;
        case PH_ITEM_EXPERT:
            if (it->id >= p->info->n_experts)
                break;
            if (it->text)
                expert_add_info_format(pinfo, last, &p->ei[it->id], "%s", it->text);
            else
                expert_add_info(pinfo, last, &p->ei[it->id]);
            break;
        case PH_ITEM_CALL: {
            dissector_handle_t h = strcmp(it->text, "json") == 0 ? json_handle : find_dissector(it->text);
            if (h && it->length > 0 && (h != json_handle || json_wanted(tree))) {
                /* Keep our Protocol/Info columns. */
                col_set_writable(pinfo->cinfo, -1, FALSE);
                call_dissector(h, tvb_new_subset_length(src, (gint)it->offset, (gint)it->length), pinfo, stack[depth]);
                col_set_writable(pinfo->cinfo, -1, TRUE);
            }
            break;
        }
        default:
            break;
        }
    }

    const PhDevice *dev = ph_result_device(r);
    if (dev && have_tap_listener(devices_tap)) {
        ph_device_tap_t *d = wmem_new(pinfo->pool, ph_device_tap_t);
        d->proto = p->info->short_name;
        d->device = wmem_strdup(pinfo->pool, dev->device);
        d->facts = wmem_strdup(pinfo->pool, dev->facts);
        d->key = dev->key;
        d->payload = dev->payload;
        tap_queue_packet(devices_tap, pinfo, d);
    }

    const char *summary = ph_result_summary(r);
    if (summary)
        proto_item_append_text(root, "%s", summary);
    const char *info = ph_result_info(r);
    if (info)
        col_append_sep_str(pinfo->cinfo, COL_INFO, " | ", info);
    const char *malformed = ph_result_malformed(r);
    if (malformed) {
        expert_add_info_format(pinfo, root, &p->ei[p->info->n_experts], "Malformed %s packet: %s",
                               p->info->short_name, malformed);
        col_append_str(pinfo->cinfo, COL_INFO, " [Malformed]");
    }
    return (int)len;
}

/* ---- UDP, TCP and heuristic entry points -------------------------------- */

static int dissect_udp(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data, void *cb_data)
{
    (void)data;
    ph_proto_t *p = (ph_proto_t *)cb_data;
    col_clear(pinfo->cinfo, COL_INFO);
    return render(p, tvb, pinfo, tree);
}

static guint tcp_pdu_len(packet_info *pinfo, tvbuff_t *tvb, int offset, void *data)
{
    ph_proto_t *p = (ph_proto_t *)data;
    guint avail = tvb_captured_length_remaining(tvb, offset);
    int64_t n = ph_pdu_len(p->idx, tvb_get_ptr(tvb, offset, avail), avail);
    if (n > 0)
        return (guint)n;
    if (n == 0 && pinfo->can_desegment)
        return 0; /* one more segment, please */
    /* Not a PDU start (or no reassembly): hand over the rest as one unit,
     * which the dissector reports as not-this-protocol or malformed. */
    return tvb_reported_length_remaining(tvb, offset);
}

static int dissect_tcp_pdu(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data)
{
    ph_proto_t *p = (ph_proto_t *)data;
    int taken = render(p, tvb, pinfo, tree);
    if (taken == 0) {
        col_set_str(pinfo->cinfo, COL_PROTOCOL, p->info->short_name);
        col_append_sep_str(pinfo->cinfo, COL_INFO, " | ", "Continuation or non-protocol data");
        call_data_dissector(tvb, pinfo, tree);
    }
    return tvb_captured_length(tvb);
}

static int dissect_tcp_stream(ph_proto_t *p, tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree)
{
    col_clear(pinfo->cinfo, COL_INFO);
    tcp_dissect_pdus(tvb, pinfo, tree, PH_TRUE, p->info->tcp_header_len, tcp_pdu_len, dissect_tcp_pdu, p);
    return tvb_captured_length(tvb);
}

static ph_bool looks_like(ph_proto_t *p, tvbuff_t *tvb)
{
    guint len = tvb_captured_length(tvb);
    return len > 0 && ph_looks_like(p->idx, tvb_get_ptr(tvb, 0, len), len);
}

/* On a TCP port shared with a built-in dissector (miIO's cloud channel on
 * HTTP's port 80), a stream that starts like ours becomes ours for good;
 * any other stream goes to the dissector that had the port before. */
static int dissect_tcp(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data, void *cb_data)
{
    ph_proto_t *p = (ph_proto_t *)cb_data;
    for (size_t i = 0; i < PH_MAX_SHARED_PORTS; i++) {
        if (!p->previous[i] || p->shared_ports[i] != pinfo->match_uint)
            continue;
        conversation_t *conv = find_or_create_conversation(pinfo);
        if (conversation_get_dissector(conv, pinfo->num) == p->tcp_handle)
            break; /* claimed earlier in the stream */
        if (!looks_like(p, tvb))
            return call_dissector_only(p->previous[i], tvb, pinfo, tree, data);
        conversation_set_dissector(conv, p->tcp_handle);
        break;
    }
    return dissect_tcp_stream(p, tvb, pinfo, tree);
}

static ph_bool heur_udp(ph_proto_t *p, tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree)
{
    if (!looks_like(p, tvb))
        return PH_FALSE;
    col_clear(pinfo->cinfo, COL_INFO);
    return render(p, tvb, pinfo, tree) > 0 ? PH_TRUE : PH_FALSE;
}

static ph_bool heur_tcp(ph_proto_t *p, tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree)
{
    if (!looks_like(p, tvb))
        return PH_FALSE;
    /* The rest of this TCP stream is ours. */
    conversation_set_dissector(find_or_create_conversation(pinfo), p->tcp_handle);
    dissect_tcp_stream(p, tvb, pinfo, tree);
    return PH_TRUE;
}

/* ---- key tables (UAT) and preferences ----------------------------------- */

/* The UAT_CSTRING_CB_DEF names name members c0..c3; they are c[0..3]. */
#define c0 c[0]
#define c1 c[1]
#define c2 c[2]
#define c3 c[3]

UAT_CSTRING_CB_DEF(ph_row, c0, ph_row_t)
UAT_CSTRING_CB_DEF(ph_row, c1, ph_row_t)
UAT_CSTRING_CB_DEF(ph_row, c2, ph_row_t)
UAT_CSTRING_CB_DEF(ph_row, c3, ph_row_t)


static void *row_copy(void *dst, const void *src, size_t len)
{
    (void)len;
    ph_row_t *d = (ph_row_t *)dst;
    const ph_row_t *s = (const ph_row_t *)src;
    for (int i = 0; i < PH_MAX_COLUMNS; i++)
        d->c[i] = g_strdup(s->c[i]);
    return d;
}

static void row_free(void *rec)
{
    ph_row_t *r = (ph_row_t *)rec;
    for (int i = 0; i < PH_MAX_COLUMNS; i++) {
        g_free(r->c[i]);
        r->c[i] = NULL;
    }
}

static ph_bool row_check(ph_proto_t *p, void *rec, char **err)
{
    ph_row_t *r = (ph_row_t *)rec;
    char *e = ph_table_check(p->idx, (const char *const *)r->c, p->info->n_columns);
    if (e) {
        *err = g_strdup(e);
        ph_string_free(e);
        return PH_FALSE;
    }
    return PH_TRUE;
}

static void table_push(ph_proto_t *p)
{
    size_t cols = p->info->n_columns;
    const char **cells = g_new0(const char *, p->n_rows * cols + 1);
    for (guint i = 0; i < p->n_rows; i++)
        for (size_t j = 0; j < cols; j++)
            cells[i * cols + j] = p->rows[i].c[j];
    ph_table_set(p->idx, cells, p->n_rows, cols);
    g_free(cells);
}

static void prefs_push(ph_proto_t *p)
{
    for (size_t i = 0; i < p->info->n_prefs; i++)
        ph_pref_set(p->idx, i, p->pref_values[i]);
}

#define PH_TRAMPOLINES(i)                                                                         \
    static ph_bool heur_udp_##i(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data)  \
    { (void)data; return heur_udp(&protos[i], tvb, pinfo, tree); }                                \
    static ph_bool heur_tcp_##i(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data)  \
    { (void)data; return heur_tcp(&protos[i], tvb, pinfo, tree); }                                \
    static ph_bool row_check_##i(void *rec, char **err) { return row_check(&protos[i], rec, err); } \
    static void table_push_##i(void) { table_push(&protos[i]); }                                 \
    static void prefs_push_##i(void) { prefs_push(&protos[i]); }

PH_TRAMPOLINES(0)
PH_TRAMPOLINES(1)
PH_TRAMPOLINES(2)
PH_TRAMPOLINES(3)
PH_TRAMPOLINES(4)
PH_TRAMPOLINES(5)
PH_TRAMPOLINES(6)
PH_TRAMPOLINES(7)

#define PH_SLOT(i) { heur_udp_##i, heur_tcp_##i, row_check_##i, table_push_##i, prefs_push_##i }
static const struct {
    heur_dissector_t heur_udp;
    heur_dissector_t heur_tcp;
    uat_update_cb_t row_check;
    uat_post_update_cb_t table_push;
    void (*prefs_push)(void);
} trampolines[PH_MAX_PROTOS] = {
    PH_SLOT(0), PH_SLOT(1), PH_SLOT(2), PH_SLOT(3), PH_SLOT(4), PH_SLOT(5), PH_SLOT(6), PH_SLOT(7),
};

static void register_table(ph_proto_t *p, module_t *module)
{
    const PhProtoInfo *info = p->info;
    static const uat_field_t templates[PH_MAX_COLUMNS] = {
        UAT_FLD_CSTRING(ph_row, c0, "", ""),
        UAT_FLD_CSTRING(ph_row, c1, "", ""),
        UAT_FLD_CSTRING(ph_row, c2, "", ""),
        UAT_FLD_CSTRING(ph_row, c3, "", ""),
    };
    static const uat_field_t end = UAT_END_FIELDS;
    size_t cols = info->n_columns < PH_MAX_COLUMNS ? info->n_columns : PH_MAX_COLUMNS;
    uat_field_t *fields = g_new0(uat_field_t, cols + 1);
    for (size_t i = 0; i < cols; i++) {
        fields[i] = templates[i];
        fields[i].name = info->columns[i].name;
        fields[i].title = info->columns[i].title;
        fields[i].desc = info->columns[i].description;
    }
    fields[cols] = end;
    uat_t *uat = uat_new(info->table_name, sizeof(ph_row_t), info->table_name, PH_TRUE, &p->rows, &p->n_rows,
                         UAT_AFFECTS_DISSECTION, NULL, row_copy, trampolines[p->idx].row_check, row_free,
                         trampolines[p->idx].table_push, NULL, fields);
    /* A preference may not start with the module name, so not "tuya_keys". */
    prefs_register_uat_preference(module, "table", info->table_title, info->table_help, uat);
}

/* ---- registration --------------------------------------------------------- */

static int field_type(PhKind kind)
{
    switch (kind) {
    case PhKind_U8: return FT_UINT8;
    case PhKind_U16: return FT_UINT16;
    case PhKind_U32: return FT_UINT32;
    case PhKind_U64: return FT_UINT64;
    case PhKind_Bool: return FT_BOOLEAN;
    case PhKind_Str: return FT_STRING;
    case PhKind_Bytes: return FT_BYTES;
    case PhKind_Ipv4: return FT_IPv4;
    case PhKind_Frame: return FT_FRAMENUM;
    case PhKind_Duration: return FT_RELATIVE_TIME;
    case PhKind_I64: return FT_INT64;
    case PhKind_Double: return FT_DOUBLE;
    default: return FT_NONE;
    }
}

static gboolean is_unsigned(PhKind kind)
{
    return kind == PhKind_U8 || kind == PhKind_U16 || kind == PhKind_U32 || kind == PhKind_U64;
}

static int field_display(PhKind kind, PhBase base)
{
    if (kind == PhKind_I64)
        return BASE_DEC;
    if (!is_unsigned(kind))
        return BASE_NONE;
    switch (base) {
    case PhBase_Hex: return BASE_HEX;
    case PhBase_DecHex: return BASE_DEC_HEX;
    default: return BASE_DEC;
    }
}

static int expert_group(PhGroup group)
{
    switch (group) {
    case PhGroup_Checksum: return PI_CHECKSUM;
    case PhGroup_Malformed: return PI_MALFORMED;
    case PhGroup_Undecoded: return PI_UNDECODED;
    case PhGroup_Security: return PI_SECURITY;
    case PhGroup_Decryption: return PI_DECRYPTION;
    case PhGroup_Sequence: return PI_SEQUENCE;
    default: return PI_PROTOCOL;
    }
}

static int expert_severity(PhSeverity severity)
{
    switch (severity) {
    case PhSeverity_Chat: return PI_CHAT;
    case PhSeverity_Note: return PI_NOTE;
    case PhSeverity_Error: return PI_ERROR;
    default: return PI_WARN;
    }
}

static void register_one(ph_proto_t *p)
{
    const PhProtoInfo *info = p->info;
    p->proto = proto_register_protocol(info->name, info->short_name, info->filter_name);

    p->hf = g_new(int, info->n_fields);
    hf_register_info *hf = g_new0(hf_register_info, info->n_fields);
    for (size_t i = 0; i < info->n_fields; i++) {
        const PhFieldInfo *f = &info->fields[i];
        static const header_field_info tmpl = { NULL, NULL, FT_NONE, BASE_NONE, NULL, 0, NULL, HFILL };
        p->hf[i] = -1;
        hf[i].p_id = &p->hf[i];
        hf[i].hfinfo = tmpl;
        hf[i].hfinfo.name = f->name;
        hf[i].hfinfo.abbrev = f->abbrev;
        hf[i].hfinfo.type = field_type(f->kind);
        hf[i].hfinfo.display = field_display(f->kind, f->base);
        hf[i].hfinfo.blurb = f->blurb;
        if (f->n_names && is_unsigned(f->kind) && f->kind != PhKind_U64) {
            value_string *vs = g_new0(value_string, f->n_names + 1);
            for (size_t j = 0; j < f->n_names; j++) {
                vs[j].value = f->names[j].value;
                vs[j].strptr = f->names[j].name;
            }
            hf[i].hfinfo.strings = VALS(vs);
        }
    }
    proto_register_field_array(p->proto, hf, (int)info->n_fields);

    p->ett = g_new(gint, info->n_fields);
    gint **ett = g_new(gint *, info->n_fields + 1);
    p->ett_root = -1;
    ett[0] = &p->ett_root;
    for (size_t i = 0; i < info->n_fields; i++) {
        p->ett[i] = -1;
        ett[i + 1] = &p->ett[i];
    }
    proto_register_subtree_array(ett, (int)info->n_fields + 1);

    /* The protocol's experts, plus "<proto>.malformed" for parser failures. */
    static const expert_field ei_init = EI_INIT;
    static const ei_register_info ei_tmpl = { NULL, { NULL, 0, 0, NULL, EXPFILL } };
    size_t n_ei = info->n_experts + 1;
    p->ei = g_new(expert_field, n_ei);
    ei_register_info *ei = g_new0(ei_register_info, n_ei);
    for (size_t i = 0; i < n_ei; i++) {
        p->ei[i] = ei_init;
        ei[i] = ei_tmpl;
        ei[i].ids = &p->ei[i];
        if (i < info->n_experts) {
            const PhExpertInfo *e = &info->experts[i];
            ei[i].eiinfo.name = e->abbrev;
            ei[i].eiinfo.group = expert_group(e->group);
            ei[i].eiinfo.severity = expert_severity(e->severity);
            ei[i].eiinfo.summary = e->summary;
        } else {
            ei[i].eiinfo.name = g_strdup_printf("%s.malformed", info->filter_name);
            ei[i].eiinfo.group = PI_MALFORMED;
            ei[i].eiinfo.severity = PI_ERROR;
            ei[i].eiinfo.summary = "Malformed packet";
        }
    }
    expert_register_field_array(expert_register_protocol(p->proto), ei, (int)n_ei);

    module_t *module = prefs_register_protocol(p->proto, trampolines[p->idx].prefs_push);
    if (info->table_name && info->n_columns)
        register_table(p, module);
    p->pref_values = g_new0(char *, info->n_prefs + 1);
    for (size_t i = 0; i < info->n_prefs; i++) {
        p->pref_values[i] = g_strdup("");
        prefs_register_string_preference(module, info->prefs[i].name, info->prefs[i].title,
                                         info->prefs[i].description, (const char **)&p->pref_values[i]);
    }

    p->udp_handle = register_dissector_with_data(info->filter_name, dissect_udp, p->proto, p);
    char *tcp_name = g_strdup_printf("%s.tcp", info->filter_name);
    p->tcp_handle = register_dissector_with_data(tcp_name, dissect_tcp, p->proto, p);

}

static void init_captures(void)
{
    for (size_t i = 0; i < n_protos; i++)
        protos[i].capture = ph_slot_new();
}

static void cleanup_captures(void)
{
    for (size_t i = 0; i < n_protos; i++) {
        ph_slot_free(protos[i].capture);
        protos[i].capture = NULL;
    }
}

/* ---- device view (stats tree) ------------------------------------------ */

#define DEVICES_ROOT "Devices by protocol"

static const char *key_text(PhKeyState key)
{
    switch (key) {
    case PhKeyState_Configured: return "key: configured";
    case PhKeyState_Learnt: return "key: learnt from the capture";
    case PhKeyState_Public: return "key: public";
    case PhKeyState_Needed: return "key: NEEDED";
    default: return "key: none needed";
    }
}

static const char *payload_text(PhPayloadState payload)
{
    switch (payload) {
    case PhPayloadState_Decrypted: return "payloads decrypted";
    case PhPayloadState_Failed: return "payloads failed";
    case PhPayloadState_Unchecked: return "payloads unchecked (no key)";
    default: return NULL;
    }
}

static int devices_root = -1;

static void devices_init(stats_tree *st)
{
    devices_root = stats_tree_create_node(st, DEVICES_ROOT, 0, STAT_DT_INT, TRUE);
}

/* Protocol > device > facts, key state and payload outcomes, each counted
 * in packets. Every level is created with children so that lookups by name
 * stay inside their parent. */
static tap_packet_status devices_packet(stats_tree *st, packet_info *pinfo, epan_dissect_t *edt, const void *data,
                                        tap_flags_t flags)
{
    (void)pinfo;
    (void)edt;
    (void)flags;
    const ph_device_tap_t *d = (const ph_device_tap_t *)data;
    tick_stat_node(st, DEVICES_ROOT, 0, TRUE);
    int proto = tick_stat_node(st, d->proto, devices_root, TRUE);
    int device = tick_stat_node(st, d->device, proto, TRUE);
    gchar **facts = g_strsplit(d->facts, "\n", -1);
    for (gchar **f = facts; *f; f++)
        if (**f)
            tick_stat_node(st, *f, device, TRUE);
    g_strfreev(facts);
    tick_stat_node(st, key_text(d->key), device, TRUE);
    const char *payload = payload_text(d->payload);
    if (payload)
        tick_stat_node(st, payload, device, TRUE);
    return TAP_PACKET_REDRAW;
}

static void register_devices_view(void)
{
    devices_tap = register_tap("phonehome");
    /* tshark -z phonehome,tree; Statistics > phonehome > Devices. */
    stats_tree_register_plugin("phonehome", "phonehome", "phonehome/Devices", 0, devices_packet, devices_init, NULL);
}

static void register_all(void)
{
    n_protos = ph_proto_count();
    if (n_protos > PH_MAX_PROTOS)
        n_protos = PH_MAX_PROTOS;
    for (size_t i = 0; i < n_protos; i++) {
        protos[i].idx = i;
        protos[i].info = ph_proto_info(i);
        register_one(&protos[i]);
    }
    register_init_routine(init_captures);
    register_cleanup_routine(cleanup_captures);
    register_devices_view();
}

static void handoff_all(void)
{
    json_handle = find_dissector("json");
    proto_json = proto_get_id_by_filter_name("json");
    hf_frame_protocols = proto_registrar_get_id_byname("frame.protocols");
    if (proto_json >= 0 && !json_fields) {
        GArray *ids = g_array_new(FALSE, FALSE, sizeof(int));
        void *cookie = NULL;
        for (header_field_info *hf = proto_get_first_protocol_field(proto_json, &cookie); hf;
             hf = proto_get_next_protocol_field(proto_json, &cookie))
            g_array_append_val(ids, hf->id);
        n_json_fields = ids->len;
        json_fields = (int *)(void *)g_array_free(ids, FALSE);
    }
    for (size_t i = 0; i < n_protos; i++) {
        ph_proto_t *p = &protos[i];
        const PhProtoInfo *info = p->info;
        /* With a preference each, and in Decode As. */
        dissector_add_uint_range_with_preference("udp.port", info->udp_ports, p->udp_handle);
        dissector_add_uint_range_with_preference("tcp.port", info->tcp_ports, p->tcp_handle);
        /* Handoffs of built-in dissectors ran before ours, so the port's
         * owner is known here. */
        dissector_table_t tcp_ports = find_dissector_table("tcp.port");
        for (size_t j = 0; j < info->n_shared_tcp_ports && j < PH_MAX_SHARED_PORTS; j++) {
            guint32 port = info->shared_tcp_ports[j];
            p->shared_ports[j] = port;
            p->previous[j] = dissector_get_uint_handle(tcp_ports, port);
            dissector_add_uint("tcp.port", port, p->tcp_handle);
        }
        if (info->heuristic_udp)
            heur_dissector_add("udp", trampolines[i].heur_udp, info->name,
                               g_strdup_printf("%s_udp", info->filter_name), p->proto, HEURISTIC_ENABLE);
        if (info->heuristic_tcp)
            heur_dissector_add("tcp", trampolines[i].heur_tcp, info->name,
                               g_strdup_printf("%s_tcp", info->filter_name), p->proto, HEURISTIC_ENABLE);
    }
}

void ph_glue_register(void)
{
    static proto_plugin plugin;
    plugin.register_protoinfo = register_all;
    plugin.register_handoff = handoff_all;
    proto_register_plugin(&plugin);
}

uint32_t ph_glue_describe(void)
{
#ifdef WS_PLUGIN_DESC_DISSECTOR
    return WS_PLUGIN_DESC_DISSECTOR;
#else
    return 1;
#endif
}
