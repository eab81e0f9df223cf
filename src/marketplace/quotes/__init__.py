"""Quote requests to several bodies, their quotes against the IAF MD 5 baseline, and acceptance into an engagement."""
