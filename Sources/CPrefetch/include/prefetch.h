// Software prefetch, which Swift does not expose: the GEMM asks for the next
// weight panel while it computes on the current one, so a panel streamed from
// DRAM is in cache before the microkernel needs it.
static inline void zerosearch_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }
