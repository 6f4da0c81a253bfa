/**
 * A part of the page that fails to render shows a message in its place instead of taking the whole page
 * down with it (React unmounts everything up to the nearest boundary, so without one a single bad value
 * leaves a blank page). "Try again" renders the part anew; the page around it keeps working.
 */
import { Component, type ErrorInfo, type ReactNode } from 'react';

interface Props {
  /** What failed, in the person's words: "the budget grid", "who else is here". */
  what: string;
  /** Short, inline message (a badge row) instead of a box. */
  inline?: boolean;
  /** When this changes (the route, say), a shown error is cleared and the children rendered again. */
  resetKey?: unknown;
  children: ReactNode;
}

interface State {
  error: Error | null;
}

export class ErrorBoundary extends Component<Props, State> {
  state: State = { error: null };

  static getDerivedStateFromError(error: unknown): State {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  componentDidCatch(error: unknown, info: ErrorInfo): void {
    // Kept visible to whoever debugs it; the person sees the message below.
    console.error(`Could not show ${this.props.what}`, error, info.componentStack);
  }

  componentDidUpdate(previous: Props): void {
    if (this.state.error && previous.resetKey !== this.props.resetKey) this.setState({ error: null });
  }

  render() {
    if (!this.state.error) return this.props.children;
    const retry = (
      <button className="link" onClick={() => this.setState({ error: null })}>
        Try again
      </button>
    );
    if (this.props.inline) {
      return (
        <span className="muted small" role="alert" data-testid="error-boundary">
          Could not show {this.props.what}. {retry}
        </span>
      );
    }
    return (
      <div className="status error-box" role="alert" data-testid="error-boundary">
        <strong>Could not show {this.props.what}.</strong> Try again, or reload the page. {retry}
      </div>
    );
  }
}
