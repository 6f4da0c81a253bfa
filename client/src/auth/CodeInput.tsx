/**
 * The field for a code of an authenticator app (two-factor sign-in), as phones and password managers expect it:
 * `autocomplete="one-time-code"` and a numeric keyboard. Its own module, so that the sign-in page gets it
 * without the enrolment's libraries (qrcode).
 */
/** A code field as authenticator apps and password managers expect it (autofill of one-time codes). */
export function CodeInput({ value, onChange, label = 'Code from your authenticator app', autoFocus }: {
  value: string;
  onChange: (code: string) => void;
  label?: string;
  autoFocus?: boolean;
}) {
  return (
    <label>
      {label}
      <input
        name="code"
        className="code-input"
        type="text"
        inputMode="numeric"
        autoComplete="one-time-code"
        pattern="[0-9 ]{6,7}"
        maxLength={7}
        placeholder="123456"
        value={value}
        onChange={(e) => onChange(e.target.value)}
        required
        autoFocus={autoFocus}
      />
    </label>
  );
}
