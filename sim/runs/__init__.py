"""The runs wing: jobs, executors (local pool, Dask), batches, sweeps, the run store, resume, summaries."""
