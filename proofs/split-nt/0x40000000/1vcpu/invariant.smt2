; Inv for address 0x40000000, 1 observer(s), found by Spacer; the certified invariant is J = Inv and the ranges
(define-fun inv ((app0_2 Bool) (ci Int) (pc Int) (tlb0_0 Bool) (tlb0_1 Bool) (tlb0_2 Bool) (tlb0_3 Bool) (vis0 Int) (walk0 Int) (wc0_0 Bool)) Bool
  (and (or (not app0_2) (not (<= vis0 0)))
     (not tlb0_1)
     (or wc0_0 (not (>= walk0 2)))
     (or (not wc0_0) (not (<= vis0 1)))
     (not (= walk0 1))
     (or (not tlb0_2) (not (<= ci 1)))
     (or wc0_0 (not tlb0_3))
     (or (not (<= pc 3)) (not (>= vis0 2)))
     (or (not tlb0_0) (not (>= pc 4)))
     (or (not app0_2) (not (>= pc 4)))
     (or (not (<= vis0 0)) (not (>= pc 2)))
     (or (not app0_2) (not (>= vis0 1)) (not tlb0_0))))
