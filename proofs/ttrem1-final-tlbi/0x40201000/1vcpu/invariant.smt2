; Inv for address 0x40201000, 1 observer(s), found by Spacer; the certified invariant is J = Inv and the ranges
(define-fun inv ((app0_2 Bool) (app0_7 Bool) (ci Int) (pc Int) (tlb0_1 Bool) (vis0 Int) (walk0 Int) (wc0_0 Bool) (wc0_1 Bool)) Bool
  (and (or (not app0_7) (not (>= pc 4)) (not wc0_0))
     (or (not tlb0_1) (not (<= ci 0)))
     (or wc0_0 (not (>= walk0 2)))
     (or (not app0_7) (not (>= pc 9)))
     (or (not wc0_0) (not (>= pc 9)))
     (or wc0_1 (not (>= walk0 3)))
     (or (not app0_2) (not (>= pc 9)))
     (or (not (<= vis0 1)) (not (>= pc 9)))
     (or (not (<= vis0 0)) (not (>= pc 4)))
     (or (not app0_7) (not (>= vis0 2)) (not wc0_0))
     (or wc0_0 (not wc0_1))))
