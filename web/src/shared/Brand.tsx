/** The product's mark and name. */

export function BrandMark() {
  return (
    <svg class="brand-mark" viewBox="0 0 32 32" width="26" height="26" aria-hidden="true">
      <rect width="32" height="32" rx="7" fill="#1f4fd1" />
      <path
        d="M9 22V10h7.5a4 4 0 0 1 0 8H13l6 4"
        fill="none"
        stroke="#fff"
        stroke-width="3"
        stroke-linecap="round"
        stroke-linejoin="round"
      />
    </svg>
  );
}
