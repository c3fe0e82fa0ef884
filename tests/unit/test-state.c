/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <sys/stat.h>

#include "state.h"
#include "unit.h"

/* Tests write JSON with ' for " to stay readable. */
static char *dq(const char *s)
{
	char *t = xstrdup(s);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	return t;
}

static struct oci_state *parse_ok(const char *s, bool need_pid)
{
	_cleanup_free_ char *json = dq(s);
	struct oci_state *st = NULL;
	struct error err = { 0 };
	if (oci_state_parse(json, need_pid, &st, &err) < 0) {
		printf("# oci_state_parse: %s\n", err.msg);
		err_clear(&err);
		return NULL;
	}
	return st;
}

/* The error message (malloc'ed), or NULL when it parsed. */
static char *parse_err(const char *s, bool need_pid)
{
	_cleanup_free_ char *json = s ? dq(s) : NULL;
	struct oci_state *st = (struct oci_state *)0x1;
	struct error err = { 0 };
	int r = oci_state_parse(json, need_pid, &st, &err);
	if (r == 0) {
		oci_state_free(st);
		return NULL;
	}
	if (st != (struct oci_state *)0x1)
		printf("# oci_state_parse wrote *ret on failure\n");
	if (r != -EINVAL || !err.msg)
		printf("# unexpected r=%d msg=%s\n", r, err.msg ? err.msg : "(null)");
	return err.msg ? err.msg : xstrdup("(no message)");
}

#define CHECK_BAD(json, need_pid, needle)					\
	do {									\
		char *_m = parse_err(json, need_pid);				\
		CHECK_STR_CONTAINS(_m, needle);					\
		free(_m);							\
	} while (0)

/* What runc 1.1 writes for createRuntime (annotations only when there are some). */
static const char runc_state[] =
	"{'ociVersion':'1.0.2-dev','id':'abc123','status':'creating','pid':4242,"
	"'bundle':'/run/containerd/io.containerd.runtime.v2.task/default/abc123',"
	"'annotations':{'io.ocibpf.policy':'web','org.opencontainers.image.ref.name':'latest'}}";

/* What crun writes: "created", plus root, rootfs, created and owner. */
static const char crun_state[] =
	"{\n  'ociVersion': '1.0.0',\n  'id': 'ctr-1',\n  'pid': 77,\n  'root': '/run/crun/ctr-1',\n"
	"  'bundle': '/var/lib/containers/storage/overlay-containers/ctr-1/userdata',\n"
	"  'rootfs': '/var/lib/containers/storage/overlay/x/merged',\n  'status': 'created',\n"
	"  'created': '2026-11-24T15:30:00.123456789Z',\n  'owner': '',\n"
	"  'annotations': {'io.ocibpf.policy': 'db', 'io.podman.annotations.autoremove': 'FALSE'}\n}\n";

static const char poststop_state[] =
	"{'ociVersion':'1.0.2-dev','id':'abc123','status':'stopped','bundle':'/b'}";

TEST(runc_state)
{
	struct oci_state *st = parse_ok(runc_state, true);
	CHECK(st);
	if (!st)
		return;
	CHECK_STR_EQ(st->oci_version, "1.0.2-dev");
	CHECK_STR_EQ(st->id, "abc123");
	CHECK_STR_EQ(st->status, "creating");
	CHECK_INT_EQ(st->pid, 4242);
	CHECK_STR_EQ(st->bundle, "/run/containerd/io.containerd.runtime.v2.task/default/abc123");
	CHECK(!st->root);
	CHECK_INT_EQ(st->n_annotations, 2);
	CHECK_STR_EQ(oci_state_annotation(st, "io.ocibpf.policy"), "web");
	CHECK_STR_EQ(oci_state_annotation(st, "org.opencontainers.image.ref.name"), "latest");
	CHECK(!oci_state_annotation(st, "io.ocibpf"));
	CHECK(!oci_state_annotation(st, "nope"));
	/* Document order is kept. */
	if (st->n_annotations == 2)
		CHECK_STR_EQ(st->annotations[0].key, "io.ocibpf.policy");
	oci_state_free(st);
}

TEST(crun_state)
{
	struct oci_state *st = parse_ok(crun_state, true);
	CHECK(st);
	if (!st)
		return;
	CHECK_STR_EQ(st->oci_version, "1.0.0");
	CHECK_STR_EQ(st->id, "ctr-1");
	CHECK_STR_EQ(st->status, "created");
	CHECK_INT_EQ(st->pid, 77);
	CHECK_STR_EQ(st->root, "/run/crun/ctr-1");
	CHECK_STR_EQ(st->bundle, "/var/lib/containers/storage/overlay-containers/ctr-1/userdata");
	CHECK_STR_EQ(oci_state_annotation(st, "io.ocibpf.policy"), "db");
	oci_state_free(st);
}

TEST(no_annotations)
{
	struct oci_state *a = parse_ok("{'ociVersion':'1.0.2','id':'x','status':'creating','pid':1,'bundle':'/b'}", true);
	struct oci_state *b = parse_ok("{'ociVersion':'1.0.2','id':'x','status':'creating','pid':1,'bundle':'/b','annotations':{}}", true);
	struct oci_state *c = parse_ok("{'ociVersion':'1.0.2','id':'x','status':'creating','pid':1,'bundle':'/b','annotations':null}", true);
	CHECK(a && b && c);
	if (a && b && c) {
		CHECK(a->n_annotations == 0 && b->n_annotations == 0 && c->n_annotations == 0);
		CHECK(!oci_state_annotation(a, "io.ocibpf.policy"));
		CHECK(!oci_state_annotation(b, "io.ocibpf.policy"));
	}
	CHECK(!oci_state_annotation(NULL, "x"));
	oci_state_free(a);
	oci_state_free(b);
	oci_state_free(c);
	oci_state_free(NULL);
}

TEST(poststop_pid_optional)
{
	struct oci_state *st = parse_ok(poststop_state, false);
	CHECK(st && st->pid == 0 && strcmp(st->status, "stopped") == 0);
	oci_state_free(st);
	st = parse_ok("{'ociVersion':'1.0.2','id':'x','status':'stopped','pid':0,'bundle':'/b'}", false);
	CHECK(st && st->pid == 0);
	oci_state_free(st);
	st = parse_ok("{'ociVersion':'1.0.2','id':'x','status':'stopped','pid':99,'bundle':'/b'}", false);
	CHECK(st && st->pid == 99);
	oci_state_free(st);
	/* Dead or alive is not the parser's business. */
	st = parse_ok("{'ociVersion':'1.0.2','id':'x','status':'creating','pid':2147483647,'bundle':'/b'}", true);
	CHECK(st && st->pid == 2147483647);
	oci_state_free(st);
}

TEST(pid_errors)
{
	CHECK_BAD(poststop_state, true, "state: \"pid\" is missing");
	CHECK_BAD("{'ociVersion':'1','id':'x','status':'creating','pid':0,'bundle':'/b'}", true,
		  "state: \"pid\" must be greater than 0");
	CHECK_BAD("{'ociVersion':'1','id':'x','status':'creating','pid':-1,'bundle':'/b'}", true,
		  "state: \"pid\" -1 is out of range");
	CHECK_BAD("{'ociVersion':'1','id':'x','status':'stopped','pid':-1,'bundle':'/b'}", false,
		  "state: \"pid\" -1 is out of range");
	CHECK_BAD("{'ociVersion':'1','id':'x','status':'creating','pid':2147483648,'bundle':'/b'}", true,
		  "state: \"pid\" 2147483648 is out of range");
	CHECK_BAD("{'ociVersion':'1','id':'x','status':'creating','pid':99999999999999999999,'bundle':'/b'}", true,
		  "state: \"pid\" must be an integer");
	CHECK_BAD("{'ociVersion':'1','id':'x','status':'creating','pid':1.5,'bundle':'/b'}", true,
		  "state: \"pid\" must be an integer");
	CHECK_BAD("{'ociVersion':'1','id':'x','status':'creating','pid':1e3,'bundle':'/b'}", true,
		  "state: \"pid\" must be an integer");
	CHECK_BAD("{'ociVersion':'1','id':'x','status':'creating','pid':'42','bundle':'/b'}", true,
		  "state: \"pid\" must be an integer");
	CHECK_BAD("{'ociVersion':'1','id':'x','status':'stopped','pid':null,'bundle':'/b'}", false,
		  "state: \"pid\" must be an integer");
	CHECK_BAD("{'ociVersion':'1','id':'x','status':'stopped','pid':true,'bundle':'/b'}", false,
		  "state: \"pid\" must be an integer");
}

TEST(missing_fields)
{
	CHECK_BAD("{'id':'x','status':'creating','pid':1,'bundle':'/b'}", true, "state: \"ociVersion\" is missing");
	CHECK_BAD("{'ociVersion':'1','status':'creating','pid':1,'bundle':'/b'}", true, "state: \"id\" is missing");
	CHECK_BAD("{'ociVersion':'1','id':'x','pid':1,'bundle':'/b'}", true, "state: \"status\" is missing");
	CHECK_BAD("{'ociVersion':'1','id':'x','status':'creating','pid':1}", true, "state: \"bundle\" is missing");
	CHECK_BAD("{}", false, "is missing");
}

TEST(wrong_types)
{
	CHECK_BAD("{'ociVersion':1,'id':'x','status':'creating','pid':1,'bundle':'/b'}", true,
		  "state: \"ociVersion\" must be a string");
	CHECK_BAD("{'ociVersion':'1','id':7,'status':'creating','pid':1,'bundle':'/b'}", true,
		  "state: \"id\" must be a string");
	CHECK_BAD("{'ociVersion':'1','id':null,'status':'creating','pid':1,'bundle':'/b'}", true,
		  "state: \"id\" must be a string");
	CHECK_BAD("{'ociVersion':'1','id':'x','status':{},'pid':1,'bundle':'/b'}", true,
		  "state: \"status\" must be a string");
	CHECK_BAD("{'ociVersion':'1','id':'x','status':'creating','pid':1,'bundle':['/b']}", true,
		  "state: \"bundle\" must be a string");
	CHECK_BAD("{'ociVersion':'1','id':'x','status':'creating','pid':1,'bundle':'/b','root':false}", true,
		  "state: \"root\" must be a string");
}

/* runc and crun take these (SPEC.md "Container identity"): a state, whoever can monitor it. */
TEST(runtime_ids)
{
	static const char *const ids[] = { ".x", "a+b", "a,b", "a.b", "_x", "x.." };
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		char *json = NULL;
		if (asprintf(&json, "{'ociVersion':'1','id':'%s','status':'creating','pid':1,'bundle':'/b'}", ids[i]) < 0)
			abort();
		struct oci_state *st = parse_ok(json, true);
		CHECK(st && strcmp(st->id, ids[i]) == 0);
		oci_state_free(st);
		free(json);
	}
}

TEST(bad_ids)
{
	CHECK_BAD("{'ociVersion':'1','id':'../../x','status':'creating','pid':1,'bundle':'/b'}", true,
		  "state: \"id\" \"../../x\" is not a valid container id");
	CHECK_BAD("{'ociVersion':'1','id':'','status':'creating','pid':1,'bundle':'/b'}", true,
		  "state: \"id\" \"\" is not a valid container id");
	CHECK_BAD("{'ociVersion':'1','id':'a/b','status':'creating','pid':1,'bundle':'/b'}", true,
		  "is not a valid container id");
	CHECK_BAD("{'ociVersion':'1','id':'..','status':'creating','pid':1,'bundle':'/b'}", true,
		  "is not a valid container id");
	CHECK_BAD("{'ociVersion':'1','id':'a;b','status':'creating','pid':1,'bundle':'/b'}", true,
		  "is not a valid container id");
	/* Control characters come out escaped. */
	CHECK_BAD("{'ociVersion':'1','id':'x\\ny','status':'creating','pid':1,'bundle':'/b'}", true,
		  "state: \"id\" \"x\\ny\" is not a valid container id");

	/* runc takes long ids (a file name: 255); the state parser stops at 1024. */
	char id[1026];
	memset(id, 'a', 1025);
	id[1025] = '\0';
	_cleanup_free_ char *json = xasprintf("{'ociVersion':'1','id':'%s','status':'creating','pid':1,'bundle':'/b'}", id);
	CHECK_BAD(json, true, "is not a valid container id");
	/* Overlong ids are shortened in the message. */
	char *m = parse_err(json, true);
	CHECK(m && strlen(m) < 250);
	CHECK_STR_CONTAINS(m, "...");
	free(m);
	id[1024] = '\0';
	free(json);
	json = xasprintf("{'ociVersion':'1','id':'%s','status':'creating','pid':1,'bundle':'/b'}", id);
	struct oci_state *st = parse_ok(json, true);
	CHECK(st && strlen(st->id) == 1024);
	oci_state_free(st);
}

TEST(bad_bundle)
{
	CHECK_BAD("{'ociVersion':'1','id':'x','status':'creating','pid':1,'bundle':'b'}", true,
		  "state: \"bundle\" \"b\" is not an absolute path");
	CHECK_BAD("{'ociVersion':'1','id':'x','status':'creating','pid':1,'bundle':''}", true,
		  "state: \"bundle\" \"\" is not an absolute path");
	CHECK_BAD("{'ociVersion':'1','id':'x','status':'creating','pid':1,'bundle':'./b'}", true,
		  "is not an absolute path");
}

TEST(bad_annotations)
{
	CHECK_BAD("{'ociVersion':'1','id':'x','status':'creating','pid':1,'bundle':'/b','annotations':[]}", true,
		  "state: \"annotations\" must be an object");
	CHECK_BAD("{'ociVersion':'1','id':'x','status':'creating','pid':1,'bundle':'/b','annotations':'a=b'}", true,
		  "state: \"annotations\" must be an object");
	CHECK_BAD("{'ociVersion':'1','id':'x','status':'creating','pid':1,'bundle':'/b','annotations':{'a':'1','b':2}}", true,
		  "state: annotation \"b\" must be a string");
	CHECK_BAD("{'ociVersion':'1','id':'x','status':'creating','pid':1,'bundle':'/b','annotations':{'a':null}}", true,
		  "state: annotation \"a\" must be a string");
	CHECK_BAD("{'ociVersion':'1','id':'x','status':'creating','pid':1,'bundle':'/b','annotations':{'io.ocibpf.policy':{'x':1}}}", true,
		  "state: annotation \"io.ocibpf.policy\" must be a string");
	/* Two values for one key: which one wins would depend on the reader. */
	CHECK_BAD("{'ociVersion':'1','id':'x','status':'creating','pid':1,'bundle':'/b',"
		  "'annotations':{'io.ocibpf.policy':'web','z':'1','io.ocibpf.policy':'admin'}}", true,
		  "state: annotation \"io.ocibpf.policy\" is given twice");
}

TEST(garbage_and_truncated)
{
	CHECK_BAD(NULL, true, "state: invalid JSON");
	CHECK_BAD("", true, "state: invalid JSON");
	CHECK_BAD("hello", true, "state: invalid JSON");
	CHECK_BAD("{'id':", true, "state: invalid JSON");
	CHECK_BAD("{} {}", true, "state: invalid JSON");
	CHECK_BAD("[]", true, "state: must be a JSON object");
	CHECK_BAD("null", true, "state: must be a JSON object");
	CHECK_BAD("42", true, "state: must be a JSON object");
	CHECK_BAD("'x'", true, "state: must be a JSON object");

	/* Every proper prefix of a good document is an error, and nothing leaks. */
	_cleanup_free_ char *full = dq(runc_state);
	size_t len = strlen(full);
	size_t failed = 0;
	for (size_t n = 0; n < len; n++) {
		_cleanup_free_ char *cut = strndup(full, n);
		struct oci_state *st = NULL;
		struct error err = { 0 };
		if (oci_state_parse(cut, true, &st, &err) == 0 || !err.msg) {
			failed++;
			printf("# prefix of %zu bytes parsed\n", n);
		}
		oci_state_free(st);
		err_clear(&err);
	}
	CHECK_INT_EQ(failed, 0);
}

/* --- oci_bundle_annotations ------------------------------------------------------------ */

static char *tmpdir(void)
{
	char *d = xstrdup("/tmp/ocibpf-test-state.XXXXXX");
	if (!mkdtemp(d))
		abort();
	return d;
}

static void put_config(const char *bundle, const char *text)
{
	_cleanup_free_ char *path = path_join(bundle, "config.json");
	_cleanup_free_ char *json = dq(text);
	if (write_file_atomic(path, json, strlen(json), 0644) < 0)
		abort();
}

static void free_annotations(struct annotation *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(a[i].key);
		free(a[i].value);
	}
	free(a);
}

TEST(bundle_annotations)
{
	_cleanup_free_ char *b = tmpdir();
	put_config(b, "{'ociVersion':'1.0.2','process':{'args':['sh']},"
		      "'annotations':{'io.ocibpf.policy':'web','k':'v'}}");
	struct annotation *a = NULL;
	size_t n = 0;
	struct error err = { 0 };
	CHECK_INT_EQ(oci_bundle_annotations(b, &a, &n, &err), 0);
	CHECK_INT_EQ(n, 2);
	if (n == 2) {
		CHECK_STR_EQ(a[0].key, "io.ocibpf.policy");
		CHECK_STR_EQ(a[0].value, "web");
		CHECK_STR_EQ(a[1].key, "k");
	}
	/* Appends to what is there. */
	put_config(b, "{'annotations':{'more':'yes'}}");
	CHECK_INT_EQ(oci_bundle_annotations(b, &a, &n, &err), 0);
	CHECK_INT_EQ(n, 3);
	if (n == 3) {
		CHECK_STR_EQ(a[0].value, "web");
		CHECK_STR_EQ(a[2].key, "more");
		CHECK_STR_EQ(a[2].value, "yes");
	}
	/* No annotations, or an empty object: nothing added. */
	put_config(b, "{'ociVersion':'1.0.2'}");
	CHECK_INT_EQ(oci_bundle_annotations(b, &a, &n, &err), 0);
	CHECK_INT_EQ(n, 3);
	put_config(b, "{'annotations':{}}");
	CHECK_INT_EQ(oci_bundle_annotations(b, &a, &n, &err), 0);
	CHECK_INT_EQ(n, 3);
	free_annotations(a, n);
	if (err.msg)
		printf("# %s\n", err.msg);
	err_clear(&err);

	a = NULL;
	n = 0;
	put_config(b, "{}");
	CHECK_INT_EQ(oci_bundle_annotations(b, &a, &n, &err), 0);
	CHECK(!a && n == 0);
	rm_rf(b);
}

TEST(bundle_annotations_errors)
{
	_cleanup_free_ char *b = tmpdir();
	_cleanup_free_ char *path = path_join(b, "config.json");
	struct annotation *a = NULL;
	size_t n = 0;
	struct error err = { 0 };

	CHECK_INT_EQ(oci_bundle_annotations(b, &a, &n, &err), -ENOENT);
	CHECK_STR_CONTAINS(err.msg, path);
	CHECK_STR_CONTAINS(err.msg, "No such file or directory");
	err_clear(&err);

	const char *bad[] = { "{'annotations':{'a':1}}", "{'annotations':[]}", "[]", "{", "" };
	const char *want[] = { "annotation \"a\" must be a string", "\"annotations\" must be an object",
			       "must be a JSON object", "invalid JSON", "invalid JSON" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		put_config(b, bad[i]);
		CHECK_INT_EQ(oci_bundle_annotations(b, &a, &n, &err), -EINVAL);
		CHECK_STR_CONTAINS(err.msg, path);
		CHECK_STR_CONTAINS(err.msg, want[i]);
		err_clear(&err);
	}
	static const char nul[] = "{\"annotations\":{}}\0garbage";
	CHECK(write_file_atomic(path, nul, sizeof(nul) - 1, 0644) == 0);
	CHECK_INT_EQ(oci_bundle_annotations(b, &a, &n, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "NUL byte");
	err_clear(&err);
	CHECK(!a && n == 0);
	rm_rf(b);
}

/* --- oci_state_stage ------------------------------------------------------------------- */

static int stage_of(const char *status, bool *create, char **msg)
{
	_cleanup_free_ char *json = xasprintf("{\"ociVersion\": \"1.0.2\", \"id\": \"c1\", \"status\": \"%s\", "
					      "\"pid\": 1, \"bundle\": \"/b\"}", status);
	_cleanup_oci_state_ struct oci_state *st = NULL;
	struct error err = { 0 };
	if (oci_state_parse(json, false, &st, &err) < 0) {
		*msg = err.msg;
		return -1;
	}
	int r = oci_state_stage(st, create, &err);
	*msg = err.msg;
	return r;
}

TEST(stage_from_status)
{
	bool create = false;
	char *msg = NULL;
	CHECK_INT_EQ(stage_of("creating", &create, &msg), 0);
	CHECK(create && !msg);
	create = false;
	CHECK_INT_EQ(stage_of("created", &create, &msg), 0);
	CHECK(create && !msg);
	CHECK_INT_EQ(stage_of("stopped", &create, &msg), 0);
	CHECK(!create && !msg);
	CHECK_INT_EQ(stage_of("running", &create, &msg), -EINVAL);
	CHECK_STR_CONTAINS(msg, "cannot tell the hook's stage from the status \"running\"");
	free(msg);
	/* Foreign text is quoted, control characters escaped. */
	CHECK_INT_EQ(stage_of("x\\ny", &create, &msg), -EINVAL);
	CHECK_STR_CONTAINS(msg, "status \"x\\ny\"");
	free(msg);
}

/* The hook's stdin: a NUL and whatever follows it, or a key given twice, is refused. */
TEST(state_nul_and_duplicate_keys_refused)
{
	static const char nul[] = "{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":\"creating\",\"pid\":1,\"bundle\":\"/b\"}\0{\"id\":\"other\"}";
	struct oci_state *st = NULL;
	struct error err = { 0 };
	CHECK_INT_EQ(oci_state_parse_text(nul, sizeof(nul) - 1, true, &st, &err), -EINVAL);
	CHECK(st == NULL);
	CHECK_STR_CONTAINS(err.msg, "state: invalid JSON: NUL byte");
	err_clear(&err);

	static const char *const dups[] = {
		"{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"id\":\"c2\",\"status\":\"creating\",\"pid\":1,\"bundle\":\"/b\"}",
		"{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":\"creating\",\"pid\":1,\"pid\":2,\"bundle\":\"/b\"}",
		"{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":\"creating\",\"pid\":1,\"bundle\":\"/b\",\"x\":{\"a\":1,\"a\":2}}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(dups); i++) {
		CHECK_INT_EQ(oci_state_parse_text(dups[i], strlen(dups[i]), true, &st, &err), -EINVAL);
		CHECK_STR_CONTAINS(err.msg, "is given twice");
		err_clear(&err);
	}
	CHECK_INT_EQ(oci_state_parse(dups[0], true, &st, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "state: invalid JSON: key \"id\" is given twice");
	err_clear(&err);
}
