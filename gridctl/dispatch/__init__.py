"""Day-ahead and intraday dispatch: a Pyomo model of composable blocks solved with HiGHS."""
