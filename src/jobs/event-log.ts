import type { JobEvent } from './types.js';

export interface SequencedEvent {
  id: number;
  event: JobEvent;
}

export type EventListener = (e: SequencedEvent) => void;

/**
 * A job's events, numbered from 1 for SSE ids. While the job runs every event is kept so that
 * Last-Event-ID can resume; once it ended only the final `done` is kept (the tokens are released).
 */
export class EventLog {
  private events: SequencedEvent[] = [];
  private nextId = 1;
  private readonly listeners = new Set<EventListener>();
  private ended = false;

  get lastId(): number {
    return this.nextId - 1;
  }

  append(event: JobEvent): void {
    if (this.ended) return;
    const entry = { id: this.nextId++, event };
    if (event.event === 'done') {
      this.ended = true;
      this.events = [entry];
    } else {
      this.events.push(entry);
    }
    for (const listener of this.listeners) listener(entry);
    if (this.ended) this.listeners.clear();
  }

  /** Replays the events after `afterId`, then follows live ones until `done`. Returns an unsubscribe. */
  subscribe(afterId: number, listener: EventListener): () => void {
    for (const e of this.events) if (e.id > afterId || e.event.event === 'done') listener(e);
    if (this.ended) return () => undefined;
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
