// Where an order's challenge answers are published beyond this appliance. A standalone appliance
// has no board: its HTTP and HTTPS listeners serve its own orders, as always. In a cluster the
// board is etcd (src/cluster/answers.ts, attached by the cluster service while this peer is in a
// cluster), because the CA's validator may reach any peer: every peer serves every order's answers.
import { oneLine, OrderFailure } from './reasons.js';

export interface BoardPem {
  readonly certPem: string;
  readonly keyPem: string;
}

/**
 * Contract (see src/cluster/answers.ts for the etcd one):
 * - publish() resolves once the peers serve the answers (bounded), or rejects when the cluster
 *   does not take them; withdraw() stops every peer answering and never rejects. An order
 *   withdraws what it published whatever its outcome; one that dies leaves it to a short lease.
 * - httpAnswer() answers at once from memory: any peer's HTTP-01 answer present now; fetched()
 *   tells the ordering peer that the CA fetched one of its tokens from another peer.
 * - followAlpn() gets every other peer's TLS-ALPN-01 certificate as it comes and goes.
 */
export interface ChallengeBoard {
  publish(id: string, answers: { http?: ReadonlyMap<string, string>; alpn?: ReadonlyMap<string, BoardPem> }): Promise<void>;
  withdraw(id: string): Promise<void>;
  httpAnswer(token: string): string | undefined;
  /** Resolves once the CA fetched one of this order's HTTP-01 tokens from another peer (or the order is gone). */
  fetched(id: string): Promise<void>;
  followAlpn(fn: ((name: string, pair: BoardPem | undefined) => void) | undefined): void;
}

/** Publishes on the board, as an order step: a cluster that does not take the answers fails the attempt (retryable). */
export async function publishOn(board: ChallengeBoard, id: string, answers: Parameters<ChallengeBoard['publish']>[1]): Promise<void> {
  try {
    await board.publish(id, answers);
  } catch (e) {
    throw new OrderFailure({ kind: 'local', retryable: true, reason: `The cluster did not take the challenge answers: ${oneLine((e as Error).message)}` });
  }
}
