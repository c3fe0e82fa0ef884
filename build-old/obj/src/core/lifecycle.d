build-old/obj/src/core/lifecycle.o: src/core/lifecycle.c src/core/audit.h \
 bpf/ocibpf.h src/core/util.h src/core/auditlog.h src/core/bpfset.h \
 src/core/cgroup.h src/core/collector.h src/core/config.h \
 src/core/container.h src/core/json.h src/core/lifecycle.h oci/state.h \
 src/core/util.h src/core/netpolicy.h bpf/net.h src/core/policy.h \
 src/core/stats.h
src/core/audit.h:
bpf/ocibpf.h:
src/core/util.h:
src/core/auditlog.h:
src/core/bpfset.h:
src/core/cgroup.h:
src/core/collector.h:
src/core/config.h:
src/core/container.h:
src/core/json.h:
src/core/lifecycle.h:
oci/state.h:
src/core/util.h:
src/core/netpolicy.h:
bpf/net.h:
src/core/policy.h:
src/core/stats.h:
