// First byte the JS side may use; everything below belongs to AssemblyScript's static data.
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}
