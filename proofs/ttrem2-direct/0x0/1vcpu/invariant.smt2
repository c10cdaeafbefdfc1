; Inv for address 0x0, 1 observer(s), found by Spacer; the certified invariant is J = Inv and the ranges
(define-fun inv () Bool
  true)
