-- A notice whose letter is only its own text (no PDF attachment whose printability the
-- caseworker must hear about at once) is queued with what its letter will say, frozen: the
-- day, the sender's lines, the letterhead logo's hash. The letter is rendered from it the
-- first time it is needed (a paper send, a download) and then kept by its hash like any
-- other; composing no longer waits for a PDF to be made.
ALTER TABLE notices ADD COLUMN letter_input TEXT;
