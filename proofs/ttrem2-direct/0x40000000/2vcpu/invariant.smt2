; Inv for address 0x40000000, 2 observer(s), found by Spacer; the certified invariant is J = Inv and the ranges
(define-fun inv () Bool
  true)
