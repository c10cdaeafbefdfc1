/*
 * The seed patch's TTRem level-1 path (models/seed/ttrem1.toml) at FEAT_BBM level 1, written
 * straightforwardly in Promela for a side-by-side with bbmcheck (bench/spin_compare.py).
 * Same scenario and the same properties: T1[1] holds table T2 (T2[0] a 2 MiB block at IPA A,
 * T2[1] table T3 whose entry 0 is a 4 KiB page at IPA B) and is replaced by a 1 GiB block with nT
 * set, VMALLS12E1IS, then nT cleared; T3 and T2 are freed after the final DSB ISHST. NV vCPUs
 * each have a TLB, a walk cache and one walk in flight; a store becomes visible at any moment and
 * at the latest at a DSB; the TLBI acts on each vCPU at any moment until the DSB ISH. The
 * implementation choice (nT faults; nT=1 cached as a shadow or not) is made once at the start.
 * What SPIN's model does not have (bbmcheck's reductions): symmetry between vCPUs, and the
 * monotone-caching argument: here a walk may or may not cache, and entries may be evicted.
 * With -DTWIN (the like-for-like twin) a walk always caches and nothing is evicted, as in
 * bbmcheck's default search; symmetry stays bbmcheck's alone.
 * Properties are assertions; pan -c0 explores everything and counts violations.
 */
#ifndef NV
#define NV 2
#endif

/* TLB bits */
#define BLK1G  1   /* T1[1] block, nT=0 */
#define SHADOW 2   /* T1[1] block, nT=1, cached as a non-conflicting shadow */
#define BLK2M  4   /* T2[0] */
#define PAGE   8   /* T3[0] */
/* walk-cache bits */
#define WC_T2  1   /* T1[1] -> T2 */
#define WC_T3  2   /* T2[1] -> T3 */
/* walks in flight */
#define A_AT_T2 1
#define B_AT_T2 2
#define B_AT_T3 3

byte pc = 0;        /* updater: instructions executed, 0..9 */
byte vis = 0;       /* stores to T1[1] walkers see: 0 table T2, 1 block nT, 2 block */
byte choice;        /* 0: nT faults; 1: translates, not cached; 2: translates, cached as shadow */
byte tlb[NV];
byte wc[NV];
byte walk[NV];
bool applied[NV];

#define EXECUTED ((pc >= 1) + (pc >= 6))
#define T3FREED (pc >= 8)
#define T2FREED (pc >= 9)
#define PENDING (pc == 3)

inline apply_tlbi(v) {
  tlb[v] = 0; wc[v] = 0; walk[v] = 0; applied[v] = 1   /* VMALLS12E1IS: every level, all entries */
}

#ifdef TWIN
/* the twin: bbmcheck's monotone caching (a walk always caches; with no evictions, an entry not
   cached is an entry evicted at once, which changes no verdict: ARCHITECTURE.md) */
#define MAYBE(x) x
#else
#define MAYBE(x) if :: x :: skip fi
#endif

inline cache(v, bits) {
  MAYBE(tlb[v] = tlb[v] | bits)       /* may be cached (RFFWJK), or not */
}

inline read_t1(v, isA) {
  if
  :: vis == 0 ->
       MAYBE(wc[v] = wc[v] | WC_T2);
       walk[v] = (isA -> A_AT_T2 : B_AT_T2)
  :: vis == 1 ->
       if
       :: choice == 0 -> assert(false)                     /* invalid-window: nT=1 faults (RMRRPW) */
       :: choice != 0 ->
            assert(!(tlb[v] & (isA -> BLK2M : PAGE)));     /* tlb-conflict: RMRRPW with an overlap */
            if :: choice == 2 -> cache(v, SHADOW) :: else -> skip fi
       fi
  :: vis == 2 -> cache(v, BLK1G)
  fi
}

inline step_walk(v) {
  if
  :: walk[v] == A_AT_T2 ->
       assert(!T2FREED);                                   /* freed-table-walk */
       cache(v, BLK2M); walk[v] = 0
  :: walk[v] == B_AT_T2 ->
       assert(!T2FREED);
       MAYBE(wc[v] = wc[v] | WC_T3);
       walk[v] = B_AT_T3
  :: walk[v] == B_AT_T3 ->
       assert(!T3FREED);
       cache(v, PAGE); walk[v] = 0
  fi
}

proctype vcpu(byte v) {
  do
  :: atomic { walk[v] == 0 -> read_t1(v, 1) }
  :: atomic { walk[v] == 0 -> read_t1(v, 0) }
  :: atomic { walk[v] == 0 && (wc[v] & WC_T2) -> walk[v] = A_AT_T2; step_walk(v) }
  :: atomic { walk[v] == 0 && (wc[v] & WC_T2) -> walk[v] = B_AT_T2; step_walk(v) }
  :: atomic { walk[v] == 0 && (wc[v] & WC_T3) -> walk[v] = B_AT_T3; step_walk(v) }
  :: atomic { walk[v] != 0 -> step_walk(v) }
  :: atomic { PENDING && !applied[v] -> apply_tlbi(v) }
#ifndef TWIN
  :: atomic { tlb[v] & BLK1G -> tlb[v] = tlb[v] & ~BLK1G }     /* evictions (IYGYRY) */
  :: atomic { tlb[v] & SHADOW -> tlb[v] = tlb[v] & ~SHADOW }
  :: atomic { tlb[v] & BLK2M -> tlb[v] = tlb[v] & ~BLK2M }
  :: atomic { tlb[v] & PAGE -> tlb[v] = tlb[v] & ~PAGE }
  :: atomic { wc[v] & WC_T2 -> wc[v] = wc[v] & ~WC_T2 }
  :: atomic { wc[v] & WC_T3 -> wc[v] = wc[v] & ~WC_T3 }
#endif
  od
}

proctype updater() {
  byte v;
  do
  :: atomic { pc == 0 -> pc = 1 }                                  /* str T1[1], block_nt */
  :: atomic { pc == 1 -> vis = EXECUTED; pc = 2 }                  /* dsb ishst */
  :: atomic { pc == 2 -> v = 0; do :: v < NV -> applied[v] = 0; v++ :: else -> break od; pc = 3 } /* tlbi */
  :: atomic { pc == 3 -> vis = EXECUTED;                           /* dsb ish */
                v = 0; do :: v < NV -> if :: !applied[v] -> apply_tlbi(v) :: else -> skip fi; applied[v] = 0; v++
                          :: else -> break od; pc = 4 }
  :: atomic { pc == 4 -> pc = 5 }                                  /* isb */
  :: atomic { pc == 5 -> pc = 6 }                                  /* str T1[1], block */
  :: atomic { pc == 6 -> vis = EXECUTED; pc = 7 }                  /* dsb ishst */
  :: atomic { pc == 7 -> pc = 8 }                                  /* free T3 */
  :: atomic { pc == 8 -> pc = 9 }                                  /* free T2 */
  :: atomic { vis < EXECUTED -> vis++ }                            /* a store becomes visible */
  :: pc == 9 && vis == EXECUTED -> break
  od
}

/* tlb-conflict and stale-translation on lookups: checked in every state */
#define MATCH_A (BLK1G | SHADOW | BLK2M)
#define MATCH_B (BLK1G | SHADOW | PAGE)
#define TWO(x) ((x) != 0 && ((x) & ((x) - 1)) != 0)
#define STALE(v) ((T2FREED && (tlb[v] & BLK2M)) || (T3FREED && (tlb[v] & PAGE)) || \
                  (pc == 9 && (tlb[v] & (BLK2M | PAGE))))

#define OK(v) (!TWO(tlb[v] & MATCH_A) && !TWO(tlb[v] & MATCH_B) && !STALE(v))
#if NV == 1
#define INVARIANT OK(0)
#elif NV == 2
#define INVARIANT (OK(0) && OK(1))
#elif NV == 3
#define INVARIANT (OK(0) && OK(1) && OK(2))
#else
#define INVARIANT (OK(0) && OK(1) && OK(2) && OK(3))
#endif

/* one step that can happen in any reachable state: the invariant holds in all of them */
active proctype monitor() {
  assert(INVARIANT)
}

init {
  byte i;
  atomic {
    if :: choice = 0 :: choice = 1 :: choice = 2 fi;
    run updater();
    i = 0;
    do :: i < NV -> run vcpu(i); i++ :: else -> break od
  }
}
