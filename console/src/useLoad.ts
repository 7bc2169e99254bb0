/** Load something from the API whenever its inputs change, and show the latest answer. */
import { type DependencyList, useEffect, useState } from "react";

export interface Loaded<T> {
  /** The latest answer; null before the first one and after a failure. */
  data: T | null;
  /** The latest failure's message, null once a load succeeds. */
  error: string | null;
  /** Whether a load is in flight. */
  loading: boolean;
}

/** Run `load` when `deps` change; an answer that arrives after newer inputs (or after the
 * component left) is dropped, so a slow old answer never replaces a newer one. */
export function useLoad<T>(load: () => Promise<T>, deps: DependencyList): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ data: null, error: null, loading: true });
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load()
      .then((data) => live && setState({ data, error: null, loading: false }))
      .catch((e: Error) => live && setState({ data: null, error: e.message, loading: false }));
    return () => {
      live = false;
    };
    // `load` is a new closure on every render; its inputs are `deps`.
  }, deps);
  return state;
}
