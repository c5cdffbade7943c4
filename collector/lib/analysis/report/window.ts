/** The UTC days a report covers, both ends included; every query restricts its table's day column to it. */
export interface Window { from: string, to: string }

/** `column BETWEEN from AND to`: the days are the database's own (YYYY-MM-DD), never text from a user. */
export const inWindow = (window: Window, column = 'day'): string => `${column} BETWEEN DATE '${window.from}' AND DATE '${window.to}'`
