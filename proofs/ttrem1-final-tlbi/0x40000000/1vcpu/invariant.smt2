; Inv for address 0x40000000, 1 observer(s), found by Spacer; the certified invariant is J = Inv and the ranges
(define-fun inv ((app0_2 Bool) (ci Int) (pc Int) (tlb0_0 Bool) (tlb0_1 Bool) (tlb0_2 Bool) (vis0 Int) (walk0 Int) (wc0_0 Bool)) Bool
  (and (or (not (<= vis0 0)) (not (>= pc 2)))
     (not (= walk0 4))
     (or (not tlb0_1) (not (<= ci 0)))
     (or (not tlb0_0) (not (>= walk0 5)))
     (or wc0_0 (not tlb0_2))
     (or (not app0_2) (not (>= pc 4)))
     (or (not tlb0_0) (not (<= vis0 1)))
     (or (not (<= pc 5)) (not (>= vis0 2)))
     (or wc0_0 (not (= walk0 5)))
     (or (not app0_2) (not wc0_0))
     (or (not wc0_0) (not (>= vis0 1)) (not (>= pc 4)))
     (or (not app0_2) (not (<= vis0 0)))))
