import CMnl
