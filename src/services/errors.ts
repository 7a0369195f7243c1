/**
 * Bad input to an operator action (CLI, admin console, admin API): shown to
 * the operator as is. `fields` names the input fields at fault (the admin
 * API's field names, e.g. redirect_uris), each with its own message, so a
 * form can show every problem next to its field; the message is the first.
 */
export class ValidationError extends Error {
  readonly fields: Record<string, string>;

  constructor(message: string, fields: Record<string, string> = {}) {
    super(message);
    this.name = 'ValidationError';
    this.fields = fields;
  }

  /** One problem with one field. */
  static field(field: string, message: string): ValidationError {
    return new ValidationError(message, { [field]: message });
  }

  /** Every problem found; throws only when there is one. */
  static throwIfAny(fields: Record<string, string>): void {
    const first = Object.values(fields)[0];
    if (first !== undefined) throw new ValidationError(first, fields);
  }
}

export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}
