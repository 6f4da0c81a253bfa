/**
 * Whether this person has an edit to undo and one to redo in a grid, following its undo manager's stacks (the
 * Undo and Redo buttons are enabled only then: a button that does nothing when pressed tells the person nothing).
 */
import { useCallback, useSyncExternalStore } from 'react';
import type * as Y from 'yjs';

export interface UndoState {
  canUndo: boolean;
  canRedo: boolean;
}

export function useUndoState(undo: Y.UndoManager | undefined): UndoState {
  const subscribe = useCallback(
    (changed: () => void) => {
      if (!undo) return () => undefined;
      // Every change to either stack: an edit or an undo adds an item, an undo or a redo pops one, and the
      // stacks are cleared when the document is replaced.
      undo.on('stack-item-added', changed);
      undo.on('stack-item-popped', changed);
      undo.on('stack-cleared', changed);
      return () => {
        undo.off('stack-item-added', changed);
        undo.off('stack-item-popped', changed);
        undo.off('stack-cleared', changed);
      };
    },
    [undo],
  );
  const canUndo = useSyncExternalStore(subscribe, () => undo?.canUndo() ?? false);
  const canRedo = useSyncExternalStore(subscribe, () => undo?.canRedo() ?? false);
  return { canUndo, canRedo };
}
