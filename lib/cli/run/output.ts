// What every ec2-provision command shares: stdout carries exactly one JSON document (the summary)
// so that scripts can parse it; what a person waiting should see goes to stderr.

export type Say = (message: string) => void;

export const progress: Say = (message) => void process.stderr.write(`ec2-provision: ${message}\n`);

/** Only news to a person waiting: scripts and Ansible capture stderr, cron mails it. */
export const forPerson = (): { log?: Say } => (process.stderr.isTTY ? { log: progress } : {});

export function emit(summary: unknown): void {
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
}
