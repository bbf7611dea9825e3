"""Scale-out: a frontier in Redis shared by many workers, and the worker and seed commands."""
