"""Change notifications: webhooks that tell a job's receiver which pages changed, came or went
since the job's last run, in signed batches kept in the job's crawl.db until delivered."""
