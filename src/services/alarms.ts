// Alarms, raised and lowered by the services; shown as `xStatus Alarm n`, announced as feedback.
import type { Alarm, AlarmService, Severity, StatusService, StatusTree } from './interfaces.js';
import type { Logger } from '../platform/log.js';

export class Alarms implements AlarmService {
  private readonly raised = new Map<string, Alarm>();

  constructor(private readonly status: StatusService, private readonly logger: Logger, private readonly now: () => Date) {}

  raise(id: string, title: string, severity: Severity): void {
    const prev = this.raised.get(id);
    if (prev && prev.title === title && prev.severity === severity) return;
    this.raised.set(id, { id, title, severity, raised: prev?.raised ?? this.now().toISOString() });
    // One line per event, into the journal with the rest of stderr: `alarm.raised` when it becomes
    // active, `alarm.updated` when an active alarm's title or severity changes, `alarm.lowered`.
    this.logger.log({ event: prev ? 'alarm.updated' : 'alarm.raised', level: severity === 'Warning' ? 'warn' : 'error', id, severity, title });
    this.status.changed(['Alarm']);
  }

  lower(id: string): void {
    const prev = this.raised.get(id);
    if (!prev) return;
    this.raised.delete(id);
    this.logger.log({ event: 'alarm.lowered', id, severity: prev.severity, title: prev.title });
    this.status.changed(['Alarm']);
  }

  list(): Alarm[] {
    return [...this.raised.values()];
  }

  statusTree(): readonly StatusTree[] {
    return this.list().map((a) => ({ Id: a.id, Title: a.title, Severity: a.severity, State: 'Active', Raised: a.raised }));
  }
}
