"""Money: what each instance costs as it runs (the meter), each team's balance and its history, credits,
and the refusals and warnings that follow from them."""
