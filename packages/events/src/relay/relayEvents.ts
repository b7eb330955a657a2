/** Events a relay emits; background failures are reported here, never thrown into the void. */
export interface RelayEventMap {
  /**
   * A batch was acknowledged by JetStream and marked. `ids` are its rows, in no particular order;
   * `ackedAt` is when its last PubAck arrived (`performance.now()` clock).
   */
  'relay:published': [
    { count: number; duplicates: number; batchMs: number; ids: readonly string[]; ackedAt: number },
  ];
  'relay:publishFailed': [
    { id: string; type: string; attempts: number; failed: boolean; error: string },
  ];
  'relay:partitions': [{ owned: number[] }];
  'relay:error': [{ error: Error; phase: string }];
  'relay:reconnected': [];
  'relay:retentionDeleted': [{ count: number }];
  'relay:started': [{ retryGapMs: number; duplicateWindowMs: number | null; safety: string }];
  'relay:stopped': [];
}
