/**
 * The live state of every container we created (pause containers included), kept in
 * memory: the kubelet relists sandboxes and containers every second, and answering
 * from here costs no Docker call. It is filled once at start, refreshed right after
 * each of our own operations, and by Docker's event stream for what happens on its own
 * (a process exits, an OOM kill, someone runs `docker rm`).
 */
import { EventEmitter } from 'node:events';
import type Docker from 'dockerode';
import type { Logger } from '../logger.js';
import { afterOomEvent, liveState } from './container-state.js';
import { dockerStatus } from './docker-errors.js';
import { DockerEventSource, type DockerContainerEvent } from './docker-events.js';
import { managedFilter } from './labels.js';
import type { ContainerLiveState } from './types.js';

/** How long a removed container's sequence number is kept against stale inspects. */
const TOMBSTONE_MS = 60_000;

export class LiveView {
  private readonly states = new Map<string, ContainerLiveState>();
  /** Per id, the sequence number of the newest inspect applied: an older answer never wins. */
  private readonly applied = new Map<string, number>();
  /** Per id, when (Unix ms) the inspect behind the state we hold was issued. */
  private readonly readAt = new Map<string, number>();
  /** When (Unix ms) each tombstone in `applied` was laid: they only need to outlive inspects in flight. */
  private readonly tombstones = new Map<string, number>();
  /** Sequence number → when it was taken (Unix ms), while its inspect is in flight. */
  private readonly markedAt = new Map<number, number>();
  private seq = 0;
  /**
   * Per id, the newest refresh still waiting on its inspect: when (Unix ms) it was issued,
   * and whether a die event started it (see refreshAfterStop).
   */
  private readonly inflight = new Map<string, { at: number; read: Promise<ContainerLiveState | undefined>; afterDie: boolean }>();
  /** Containers Docker sent an `oom` event for (see afterOomEvent). */
  private readonly oomKilled = new Set<string>();
  /** Events are handled one at a time, so subscribers see them in Docker's order. */
  private eventChain: Promise<void> = Promise.resolve();
  private readonly events: DockerEventSource;
  /** Emits 'event' (DockerContainerEvent) after the view has been updated for it, and 'reconciled' after each full re-read. */
  readonly emitter = new EventEmitter();

  constructor(
    private readonly docker: Docker,
    private readonly logger: Logger,
    private readonly instance: string,
  ) {
    this.emitter.setMaxListeners(0);
    this.events = new DockerEventSource(
      docker,
      logger,
      instance,
      (e) => {
        this.eventChain = this.eventChain.then(() => this.onEvent(e));
      },
      () => void this.reconcile(),
    );
  }

  /** Reads every managed container once, then follows Docker's events. */
  async start(): Promise<void> {
    await this.events.start();
    await this.reconcile();
  }

  stop(): void {
    this.events.stop();
  }

  async reconcile(): Promise<void> {
    try {
      // Anything refreshed after this point is newer than the list and must not be
      // forgotten for being absent from it (a container created meanwhile).
      const listedAt = this.seq;
      const list = await this.docker.listContainers({ all: true, filters: managedFilter(this.instance) });
      const present = new Set(list.map((c) => c.Id));
      for (const id of [...this.states.keys()]) {
        if (!present.has(id) && (this.applied.get(id) ?? 0) <= listedAt) this.forget(id);
      }
      // Tombstones of containers long gone only guard against stale inspects in flight.
      for (const [id, seq] of this.applied) if (!this.states.has(id) && seq <= listedAt) this.applied.delete(id);
      await Promise.all(list.map((c) => this.refresh(c.Id)));
      this.emitter.emit('reconciled');
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'cannot reconcile container states with dockerd');
    }
  }

  get(id: string): ContainerLiveState | undefined {
    return this.states.get(id);
  }

  /**
   * Re-reads one container from Docker; undefined (and forgotten) when it is gone.
   * Never throws: it runs after operations that already succeeded, and a failed
   * bookkeeping read must not turn their success into an error (the next event or
   * reconcile corrects the view).
   */
  refresh(id: string, afterDie = false): Promise<ContainerLiveState | undefined> {
    const at = Date.now();
    const read = this.read(id);
    this.inflight.set(id, { at, read, afterDie });
    void read.finally(() => {
      if (this.inflight.get(id)?.read === read) this.inflight.delete(id);
    });
    return read;
  }

  /**
   * The state after our own Docker stop of `id` returned. A refresh already under way that
   * a die event started was issued after the exit, so its answer is the one a new inspect
   * would give: wait for it instead (under load the event often comes before the stop's
   * answer, and each teardown paid two inspects for one exit).
   */
  refreshAfterStop(id: string, stopIssuedAt: number): Promise<ContainerLiveState | undefined> {
    const pending = this.inflight.get(id);
    if (pending?.afterDie && pending.at >= stopIssuedAt) return pending.read;
    return this.refresh(id);
  }

  private async read(id: string): Promise<ContainerLiveState | undefined> {
    const mySeq = this.mark();
    let state: ContainerLiveState | undefined;
    try {
      state = liveState((await this.docker.getContainer(id).inspect()).State);
    } catch (err) {
      if (dockerStatus(err) !== 404) {
        this.markedAt.delete(mySeq);
        this.logger.warn({ id, err: (err as Error).message }, 'cannot read container state from dockerd');
        return this.states.get(id);
      }
    }
    return this.apply(id, state, mySeq);
  }

  /**
   * Whether the state we hold came from an inspect issued after `event` happened: dockerd
   * records a container's new state before it emits the event (start, die), so such an
   * inspect already shows it. Our own operations refresh right after they act, so most
   * events of our containers need no second inspect (one per create, start and die,
   * which under load competed with the pod starts themselves).
   */
  private seenSince(event: DockerContainerEvent): boolean {
    const at = this.readAt.get(event.id);
    const eventMs = Number(event.timeNano) / 1e6;
    return at !== undefined && eventMs > 0 && at > eventMs;
  }

  /** A refresh under way that was issued after `event` happened (so it will show it), if any. */
  private readUnderWaySince(event: DockerContainerEvent): Promise<ContainerLiveState | undefined> | undefined {
    const pending = this.inflight.get(event.id);
    const eventMs = Number(event.timeNano) / 1e6;
    return pending && eventMs > 0 && pending.at > eventMs ? pending.read : undefined;
  }

  /**
   * A sequence number to take just before an inspect whose answer is then given to
   * `observe`: a caller that already inspected a container (RunPodSandbox) saves the
   * second inspect a refresh would cost, and anything read after the mark still wins.
   */
  mark(): number {
    const seq = ++this.seq;
    // Marks whose inspect failed are never applied; dropping them all only costs refreshes.
    if (this.markedAt.size > 10_000) this.markedAt.clear();
    this.markedAt.set(seq, Date.now());
    return seq;
  }

  /**
   * Records that our own Docker stop of `id` has returned, so it has exited, without the
   * inspect a refresh costs. Only for pause containers, whose exit code and times nobody
   * reads (a sandbox's state needs only "running or not"): it saves one Docker call per
   * pod teardown. The die event that follows is then already seen (see seenSince).
   */
  noteExited(id: string): void {
    const held = this.states.get(id);
    if (!held) return;
    this.apply(id, { ...held, state: 'exited', pid: 0 }, this.mark());
  }

  /** Records what an inspect issued after `mark()` returned `seq` said. */
  observe(id: string, state: Docker.ContainerInspectInfo['State'], seq: number): void {
    this.apply(id, liveState(state), seq);
  }

  private apply(id: string, state: ContainerLiveState | undefined, seq: number): ContainerLiveState | undefined {
    const at = this.markedAt.get(seq);
    this.markedAt.delete(seq);
    if ((this.applied.get(id) ?? 0) > seq) return this.states.get(id);
    this.applied.set(id, seq);
    if (state && this.oomKilled.has(id)) state = afterOomEvent(state);
    if (state) {
      this.states.set(id, state);
      if (at !== undefined) this.readAt.set(id, at);
    } else {
      this.states.delete(id);
      this.readAt.delete(id);
      this.oomKilled.delete(id);
    }
    return state;
  }

  forget(id: string): void {
    this.states.delete(id);
    this.oomKilled.delete(id);
    this.readAt.delete(id);
    this.applied.set(id, ++this.seq);
    this.dropOldTombstones();
    // Re-inserted, so the map stays in time order.
    this.tombstones.delete(id);
    this.tombstones.set(id, Date.now());
  }

  /**
   * Without this, every container ever removed would keep its tombstone until the next
   * full reconcile (only after a lost event stream): a minute is far longer than any
   * inspect stays in flight.
   */
  private dropOldTombstones(): void {
    if (this.tombstones.size < 256) return;
    const before = Date.now() - TOMBSTONE_MS;
    for (const [id, at] of this.tombstones) {
      if (at >= before) break;
      this.tombstones.delete(id);
      if (!this.states.has(id)) this.applied.delete(id);
    }
  }

  private async onEvent(event: DockerContainerEvent): Promise<void> {
    try {
      if (event.action === 'destroy') this.forget(event.id);
      else if (event.action === 'oom') {
        // Always re-applied: dockerd 20.10's own inspect may miss OOMKilled (see afterOomEvent).
        this.oomKilled.add(event.id);
        await this.refresh(event.id);
      } else if (!this.seenSince(event)) {
        // Handled after the view holds what the event says: subscribers read it.
        await (this.readUnderWaySince(event) ?? this.refresh(event.id, event.action === 'die'));
      }
    } catch (err) {
      this.logger.warn({ id: event.id, err: (err as Error).message }, 'cannot refresh container after event');
    }
    this.emitter.emit('event', event);
  }
}
