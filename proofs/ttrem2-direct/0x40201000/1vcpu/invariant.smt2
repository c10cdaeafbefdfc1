; Inv for address 0x40201000, 1 observer(s), found by Spacer; the certified invariant is J = Inv and the ranges
(define-fun inv ((app0_2 Bool) (pc Int) (vis0 Int) (walk0 Int) (wc0_0 Bool) (wc0_1 Bool)) Bool
  (and (or (not app0_2) (not (<= vis0 0)))
     (or wc0_1 (not (= walk0 12)))
     (or (not wc0_1) (not (>= pc 4)))
     (or (not wc0_0) (not (>= pc 4)))
     (or (not app0_2) (not wc0_1))
     (or wc0_0 (not (= walk0 12)))
     (or wc0_0 (not (= walk0 11)))
     (or (not app0_2) (not (>= pc 4)))
     (not (= walk0 10))
     (or (not (<= vis0 0)) (not (>= pc 2)))
     (or (not app0_2) (not (>= vis0 1)) (not wc0_0))))
