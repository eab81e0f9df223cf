"""Pure rules of the trade (cycle windows, finding deadlines, ranking): stdlib only."""
