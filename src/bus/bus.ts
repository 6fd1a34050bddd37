// The bus: runs parsed requests against the services with a role check and an audit line, and
// fans out feedback (configuration changes, status changes, events) to registered sessions.
import type { ConfigNode } from '../../schema/config.js';
import type { Value } from '../../schema/types.js';
import type { Args, CommandDef, Fields } from '../../commands/define.js';
import type { Actor, Services, StatusTree } from '../services/interfaces.js';
import { asXapiError, InvalidPath, PermissionDenied, XapiError } from '../errors.js';
import { Logger, REDACTED } from '../platform/log.js';
import { Registry, resultName } from './registry.js';
import { errorReply, type Reply } from './reply.js';
import { FeedbackHub, type Feedback, type Registration } from './feedback.js';
import { changes, cut, graft, merge, prune } from './statustree.js';
import { search, walk, leaves } from './tree.js';

/** The requests the bus executes (the parser builds them). */
export type BusRequest =
  | { kind: 'status'; path: string[]; search?: string }
  | { kind: 'config-get'; path: string[]; search?: string }
  | { kind: 'config-set'; key: string; node: ConfigNode; value: Value; raw: string }
  | { kind: 'command'; def: CommandDef; args: Args; needsPayload: boolean };

export interface BusOptions {
  registry: Registry;
  services: Services;
  logger: Logger;
}

export class Bus {
  readonly feedback = new FeedbackHub();
  readonly registry: Registry;
  readonly services: Services;
  private readonly logger: Logger;

  constructor(opts: BusOptions) {
    this.registry = opts.registry;
    this.services = opts.services;
    this.logger = opts.logger;
    this.services.config.onChange((changes) => {
      for (const c of changes) {
        const path = c.key.split(' ');
        const entry = this.configEntry(c.key);
        if (!entry) continue;
        for (const m of this.feedback.matches('Configuration', path)) m.sub.deliver({ kind: 'config', entries: [entry] });
      }
    });
    this.known = this.services.status.snapshot();
    this.services.status.onChanged((path) => this.statusChanged(path));
  }

  /** Status as last announced: feedback carries only what differs from it. */
  private known: StatusTree;

  private statusChanged(path: readonly string[]): void {
    const matches = [...this.feedback.matches('Status', path)];
    if (!matches.length) {
      // Nobody listens: no snapshot; the part is forgotten, so a later listener gets it whole.
      this.known = prune(this.known, path);
      return;
    }
    const snap = this.services.status.snapshot();
    const before = cut(this.known, path);
    const after = cut(snap, path);
    this.known = graft(this.known, path, snap);
    if (!after) return;
    const changed = changes(before, after) as StatusTree | undefined;
    if (!changed) return;
    for (const m of matches) {
      // One message per session and change, holding what each of its registrations covers.
      let tree: StatusTree | undefined;
      for (const p of m.paths) {
        const part = cut(changed, p);
        if (part) tree = tree ? merge(tree, part) : part;
      }
      if (tree) m.sub.deliver({ kind: 'status', tree });
    }
  }

  async handle(req: BusRequest, actor: Actor, payload?: string): Promise<Reply> {
    switch (req.kind) {
      case 'status':
        return this.status(req.path, req.search);
      case 'config-get':
        return this.configGet(req.path, req.search);
      case 'config-set':
        return this.configSet(req, actor);
      case 'command':
        return this.command(req.def, req.args, actor, payload);
    }
  }

  private status(path: string[], term?: string): Reply {
    const snap = this.services.status.snapshot();
    if (term !== undefined) {
      let tree: StatusTree = {};
      for (const { path: p } of search(this.registry.status, term)) {
        const t = cut(snap, p.filter((s) => s !== '#'));
        if (t) tree = merge(tree, t);
      }
      return { kind: 'status', tree };
    }
    const tree = cut(snap, path);
    return { kind: 'status', tree: tree ?? {} };
  }

  private configEntry(key: string): { path: string[]; value: Value; quoted: boolean } | undefined {
    const hit = this.registry.configByKey(key);
    if (!hit) return undefined;
    const value = this.services.config.get(hit.key);
    const shown = hit.node.secret && value !== '' ? REDACTED : value;
    return { path: hit.key.split(' '), value: shown, quoted: hit.node.type.quoted || shown === REDACTED };
  }

  private configGet(path: string[], term?: string): Reply {
    const w = walk(this.registry.config, path);
    const found = term !== undefined ? search(this.registry.config, term) : w.ok ? leaves(w.node, path) : [];
    const entries = found.map(({ path: p }) => this.configEntry(p.join(' '))!).filter(Boolean);
    return { kind: 'config', entries };
  }

  private configSet(req: Extract<BusRequest, { kind: 'config-set' }>, actor: Actor): Reply {
    const shown = req.node.secret ? REDACTED : String(req.value);
    const what = `xConfiguration ${req.key}: ${shown}`;
    if (actor.role !== 'Admin' && req.node.role === 'Admin') {
      this.logger.audit({ who: actor.user, from: actor.remote, session: actor.session, what, result: 'PermissionDenied' });
      return errorReply('ConfigurationResult', new PermissionDenied(req.key));
    }
    try {
      this.services.config.set([{ key: req.key, value: req.value }], actor);
    } catch (e) {
      const x = asXapiError(e);
      if (!(e instanceof XapiError)) this.logger.log({ event: 'config.error', level: 'error', key: req.key, error: String((e as Error)?.stack ?? e) });
      this.logger.audit({ who: actor.user, from: actor.remote, session: actor.session, what, result: x.code });
      return errorReply('ConfigurationResult', x);
    }
    this.logger.audit({ who: actor.user, from: actor.remote, session: actor.session, what, result: 'OK' });
    return { kind: 'ok' };
  }

  private async command(def: CommandDef, args: Args, actor: Actor, payload?: string): Promise<Reply> {
    const name = resultName(def.path);
    const what = `xCommand ${def.path.join(' ')}${this.describeArgs(def, args)}${payload !== undefined ? ` (+${Buffer.byteLength(payload)} bytes)` : ''}`;
    if (def.role === 'Admin' && actor.role !== 'Admin') {
      this.logger.audit({ who: actor.user, from: actor.remote, session: actor.session, what, result: 'PermissionDenied' });
      return errorReply(name, new PermissionDenied(`xCommand ${def.path.join(' ')}`));
    }
    let fields: Fields;
    try {
      fields = await def.run(args, { services: this.services, actor, payload });
    } catch (e) {
      const x = asXapiError(e);
      if (!(e instanceof XapiError)) this.logger.log({ event: 'command.error', level: 'error', command: def.path.join(' '), error: String((e as Error)?.stack ?? e) });
      this.logger.audit({ who: actor.user, from: actor.remote, session: actor.session, what, result: x.code, reason: x.message });
      return errorReply(name, x);
    }
    this.logger.audit({ who: actor.user, from: actor.remote, session: actor.session, what, result: 'OK' });
    return { kind: 'result', name, status: 'OK', fields };
  }

  private describeArgs(def: CommandDef, args: Args): string {
    let s = '';
    for (const [k, v] of Object.entries(args)) {
      if (v === undefined) continue;
      const list = Array.isArray(v) ? v : [v];
      for (const one of list) s += ` ${k}: ${def.params[k]?.secret ? REDACTED : JSON.stringify(String(one))}`;
    }
    return s;
  }

  /** A bug caught by a session: the user sees "Internal error; see the log", the log has the stack. */
  internalError(actor: Actor, e: unknown): void {
    this.logger.log({ event: 'session.internal-error', level: 'error', who: actor.user, session: actor.session, error: String((e as Error)?.stack ?? e) });
  }

  /** A change or command the parser refused: audited with the reason. */
  auditRejected(actor: Actor, name: string, reason: string): void {
    this.logger.audit({ who: actor.user, from: actor.remote, session: actor.session, what: name.replace(/Result$/, ''), result: 'Rejected', reason });
  }

  /** Parses a feedback address expression: `/Status/Alarm[2]`, `Configuration/Http`, `/Event/...`. */
  registration(expr: string): Registration | XapiError {
    const parts = expr
      .replace(/\[(\d+)\]/g, '/$1')
      .split('/')
      .filter((p) => p !== '');
    const rootWord = parts[0]?.toLowerCase();
    const root = (['Status', 'Configuration', 'Event'] as const).find((r) => r.toLowerCase() === rootWord);
    if (!root) return new InvalidPath(expr);
    const rest = parts.slice(1);
    if (root === 'Event') return { root, path: rest, expr };
    const tree = root === 'Status' ? this.registry.status : this.registry.config;
    const w = walk<unknown>(tree, rest);
    if (!w.ok) return new InvalidPath(expr);
    return { root, path: w.canonical, expr: '/' + [root, ...w.canonical].join('/') };
  }

  /** Services announce events (`*e Name ...`) to sessions registered under /Event. */
  emitEvent(name: string, fields: Fields): void {
    for (const m of this.feedback.matches('Event', [name])) m.sub.deliver({ kind: 'event', name, fields });
  }
}

export type { Feedback };
