"""Small typed readers of the host: what the probes judge, and what the hardware page, power
and support show. Each module reads one kind of thing through a :class:`~diagnostics.Host` and
answers named tuples or dataclasses; none of them judges or changes anything."""
