import type { Sink } from './sink.js';
import { assertMayWrite, type WriteGuard } from './write-guard.js';

/**
 * `sink` with every write (apply, delete, inventory record and removal) preceded by the guard's
 * check, so a pass that lost the right to write stops at its next write whichever step it is
 * in: inventory, waves, hooks, re-creates or prune. Dry runs persist nothing and pass. Reads and
 * watches are the sink's own.
 */
export function guardSink(sink: Sink, guard: WriteGuard | undefined, owner: string): Sink {
  if (!guard) return sink;
  const guarded: Sink = {
    id: sink.id,
    ...(sink.defaultNamespace !== undefined && { defaultNamespace: sink.defaultNamespace }),
    get: (refs, o) => sink.get(refs, o),
    readInventory: (name, o) => sink.readInventory(name, o),
    apply(objects, o) {
      if (!o?.dryRun) assertMayWrite(guard, owner, `apply ${objects.length} object(s)`);
      return sink.apply(objects, o);
    },
    delete(refs, o) {
      if (!o?.dryRun) assertMayWrite(guard, owner, `delete ${refs.length} object(s)`);
      return sink.delete(refs, o);
    },
    writeInventory(name, refs, o) {
      assertMayWrite(guard, owner, `record the inventory of ${name}`);
      return sink.writeInventory(name, refs, o);
    },
  };
  if (sink.deleteInventory) {
    const remove = sink.deleteInventory.bind(sink);
    guarded.deleteInventory = (name, o) => {
      assertMayWrite(guard, owner, `remove the inventory of ${name}`);
      return remove(name, o);
    };
  }
  if (sink.listKind) guarded.listKind = sink.listKind.bind(sink);
  if (sink.findOwned) guarded.findOwned = sink.findOwned.bind(sink);
  if (sink.isReserved) guarded.isReserved = sink.isReserved.bind(sink);
  if (sink.listNamespace) guarded.listNamespace = sink.listNamespace.bind(sink);
  if (sink.scopeOf) guarded.scopeOf = sink.scopeOf.bind(sink);
  if (sink.watch) guarded.watch = sink.watch.bind(sink);
  return guarded;
}
