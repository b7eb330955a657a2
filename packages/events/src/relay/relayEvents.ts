/** Events a relay emits; background failures are reported here, never thrown into the void. */
export interface RelayEventMap {
  /** `ids` are the rows acknowledged in this batch, in no particular order. */
  'relay:published': [
    { count: number; duplicates: number; batchMs: number; ids: readonly string[] },
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
