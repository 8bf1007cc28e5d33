/**
 * A modal confirmation built on <dialog>: the browser traps focus and closes it on Escape. Cancel
 * has the initial focus so Enter on a stray keypress does not delete anything.
 */
import { useEffect, useRef, useState } from "react";
import { errorText } from "./error-box.js";

/** Props of ConfirmDialog. */
export interface ConfirmProps {
  title: string;
  message: string;
  confirmLabel: string;
  /** Resolves when done; a rejection is shown inside the dialog and keeps it open. */
  onConfirm: () => Promise<void>;
  onClose: () => void;
}

/** Open while mounted. */
export function ConfirmDialog({ title, message, confirmLabel, onConfirm, onClose }: ConfirmProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    cancelRef.current?.focus();
    return () => d?.close();
  }, []);
  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await onConfirm();
      onClose();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby="confirm-title"
      aria-describedby="confirm-message"
      onCancel={(e) => {
        e.preventDefault();
        if (!busy) onClose();
      }}
    >
      <h2 id="confirm-title">{title}</h2>
      <p id="confirm-message">{message}</p>
      {error !== undefined && (
        <p className="error" role="alert">
          {errorText(error)}
        </p>
      )}
      <div className="dialog-buttons">
        <button type="button" ref={cancelRef} onClick={onClose} disabled={busy}>
          Cancel
        </button>
        <button type="button" className="danger" onClick={confirm} disabled={busy}>
          {busy ? "Deleting…" : confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
